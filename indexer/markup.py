"""Find and remove HTML markup so that every text the API returns is plain text.

Articles are Markdown, and Markdown lets raw HTML through; titles and ``context``
values are free text. A regex misses forms browsers accept (``<img/src=x/onerror=…>``,
attributes holding ``>``, tags across lines), so the text is tokenised with the
standard library's HTML parser and every non-text event is removed: tags, comments,
declarations, processing instructions, and the content of ``<script>``/``<style>``.
Entities are left as written (``&lt;b&gt;`` stays those characters, never becomes a tag).

Two guards make the result safe for a client that forgets to escape it:

* removal can join pieces into a new tag (``<<b>img src=x>``), so it repeats until a
  pass finds nothing;
* a ``<`` that starts a construct the parser leaves unfinished at the end of the text
  (``x <img src=x onerror=…`` or ``<!-- …``) is dropped, since a ``<`` directly followed
  by a letter, ``/``, ``!`` or ``?`` would open a tag in a browser.

A Markdown autolink (``<https://…>``, ``<mailto:…>``) keeps its URL; only the brackets go.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser

_AUTOLINK_RE = re.compile(r"<(?:https?|mailto):[^>\s]+>", re.IGNORECASE)
_TAG_OPENERS = frozenset("/!?")
_RAW_TEXT_ELEMENTS = frozenset({"script", "style"})


_TEXT, _MARKUP, _AUTOLINK = 0, 1, 2


class _Tokens(HTMLParser):
    """Records the start offset and kind (text, markup or autolink) of every parser event."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.events: list[tuple[int, int]] = []
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self._raw_text = False
        self.feed(text)
        self.close()

    def _at(self, kind: int) -> None:
        line, col = self.getpos()
        self.events.append((self._line_starts[line - 1] + col, kind))

    def handle_data(self, data: str) -> None:
        self._at(_MARKUP if self._raw_text else _TEXT)

    def handle_entityref(self, name: str) -> None:
        self._at(_MARKUP if self._raw_text else _TEXT)

    def handle_charref(self, name: str) -> None:
        self._at(_MARKUP if self._raw_text else _TEXT)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        self._at(_AUTOLINK if _AUTOLINK_RE.fullmatch(raw) else _MARKUP)
        if tag in _RAW_TEXT_ELEMENTS:
            self._raw_text = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._at(_MARKUP)

    def handle_endtag(self, tag: str) -> None:
        self._at(_MARKUP)
        if tag in _RAW_TEXT_ELEMENTS:
            self._raw_text = False

    def handle_comment(self, data: str) -> None:
        self._at(_MARKUP)

    def handle_decl(self, decl: str) -> None:
        self._at(_MARKUP)

    def handle_pi(self, data: str) -> None:
        self._at(_MARKUP)

    def unknown_decl(self, data: str) -> None:
        self._at(_MARKUP)


def _opens_tag(text: str, i: int) -> bool:
    nxt = text[i + 1] if i + 1 < len(text) else ""
    return text[i] == "<" and ((nxt.isascii() and nxt.isalpha()) or nxt in _TAG_OPENERS)


def markup_spans(text: str, *, autolinks: bool = True) -> list[tuple[int, int]]:
    """Character ranges ``[start, end)`` of ``text`` that are markup (one parser pass).

    Args:
        text: any text; entities count as text.
        autolinks: count the brackets of an autolink as markup (they are valid Markdown,
            so validation passes False).

    Returns:
        Sorted, non-overlapping ranges; empty when the text has no markup.
    """
    if "<" not in text:
        return []
    events = _Tokens(text).events
    spans: list[tuple[int, int]] = []
    for k, (start, kind) in enumerate(events):
        end = events[k + 1][0] if k + 1 < len(events) else len(text)
        if kind == _MARKUP:
            spans.append((start, end))
            continue
        if kind == _AUTOLINK:  # the URL is text; its brackets would read as a tag to a browser
            if autolinks:
                spans.extend(((start, start + 1), (end - 1, end)))
            continue
        spans.extend((i, i + 1) for i in range(start, end) if text[i] == "<" and _opens_tag(text, i))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > start:
            merged.append((start, end))
    return merged


def kept_indices(text: str) -> list[int]:
    """Indices of the characters of ``text`` that remain once all markup is removed (to a fixpoint)."""
    keep = list(range(len(text)))
    current = text
    while spans := markup_spans(current):
        drop: set[int] = set()
        for start, end in spans:
            drop.update(range(start, end))
        keep = [k for i, k in enumerate(keep) if i not in drop]
        current = "".join(text[k] for k in keep)
    return keep


@lru_cache(maxsize=8192)
def strip_markup(text: str) -> str:
    """``text`` without any HTML markup (see the module docstring); cached, titles repeat."""
    if "<" not in text:
        return text
    return "".join(text[k] for k in kept_indices(text))
