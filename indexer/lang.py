"""Query and passage language detection (zh vs en) by script, cheap enough for every query."""

from __future__ import annotations

import re

# Chinese characters (CJK extension A, unified ideographs, compatibility ideographs), as a regex class body.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")


def detect_lang(text: str) -> str:
    """``zh`` when the text has Chinese characters worth reading, else ``en``.

    Two CJK characters make a message Chinese even among English words: mixed messages
    such as "我的order还没ship" read as Chinese to an agent, and USE handles them.
    """
    cjk = len(_CJK_RE.findall(text))
    if cjk >= 2 or (cjk == 1 and not _LATIN_WORD_RE.search(text)):
        return "zh"
    return "en"
