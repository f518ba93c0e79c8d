"""Markdown to plain text that can be pasted into a chat, with an offset map.

:func:`plain_text` keeps a link's text (``[运费险](kb:shipping-fee-refund)`` becomes
``运费险``; an external link keeps its URL in brackets), drops HTML markup
(:mod:`indexer.markup`: the result holds no tag), images, heading, list, quote
and task markers, emphasis and code marks, rules, code fences and table separator
rows (with the header row above them), and turns table cells into ``cell：cell``.
Lines are trimmed, runs of spaces collapsed and blank lines dropped.

Every output character carries the body offset it came from, so a cut in the plain
text maps back to a character offset in the article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from indexer.article import HEADING_MARK
from indexer.markup import kept_indices

# A replacement is a sequence of pieces: a group number copies that group (with its
# offsets), a string is inserted (with the offset of the character before it).
Piece = int | str

# Each inline rule: strings of which a line must contain one (a cheap pre-check), the pattern, the replacement.
_INLINE: tuple[tuple[tuple[str, ...], re.Pattern[str], tuple[Piece, ...]], ...] = (
    (("![",), re.compile(r"!\[[^\]]*\]\([^)]*\)"), ("",)),
    (("](",), re.compile(r"\[([^\]]+)\]\(\s*kb:[^)]*\)"), (1,)),
    (("](",), re.compile(r"\[([^\]]+)\]\(\s*(\S+?)(?:\s+\"[^\"]*\")?\s*\)"), (1, " (", 2, ")")),
    (("`",), re.compile(r"`([^`\n]+)`"), (1,)),
    (("**", "__"), re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), (2,)),
    (("~~",), re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), (1,)),
    (("*",), re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), (1,)),
    # ``{customer_name}`` must survive: an underscore inside a word is not emphasis.
    (("_",), re.compile(r"(?<![\w{])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w}])"), (1,)),
    (("\\",), re.compile(r"\\([\\`*_\[\]()#+\-.!|>~])"), (1,)),
)
_PREFIX_RE = re.compile(
    rf"[ \t]*(?:{HEADING_MARK}[ \t]+|>[ \t]?)*(?:(?:[-*+]|\d{{1,3}}[.)])[ \t]+)?(?:\[[ xX]\][ \t]+)?"
)
_SKIP_LINE_RE = re.compile(r"[ \t]*(?:(?:[-*_][ \t]*){3,}|```.*|~~~.*)")
_TABLE_SEP_RE = re.compile(r"[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+(?:[ \t]*:?-{2,}:?[ \t]*)?[ \t]*")
_SPACES_RE = re.compile(r"\s+")


class _Text:
    """Characters with the body offset of each one."""

    __slots__ = ("chars", "pos")

    def __init__(self, chars: str = "", pos: Sequence[int] = ()) -> None:
        self.chars = chars
        self.pos = list(pos)

    def append(self, other: _Text) -> None:
        self.chars += other.chars
        self.pos.extend(other.pos)

    def insert(self, literal: str, at: int) -> None:
        self.chars += literal
        self.pos.extend([at] * len(literal))

    def slice(self, start: int, end: int) -> _Text:
        return _Text(self.chars[start:end], self.pos[start:end])

    def sub(self, pattern: re.Pattern[str], pieces: Sequence[Piece]) -> _Text:
        """Replace every match of ``pattern`` by ``pieces``, keeping offsets."""
        matches = list(pattern.finditer(self.chars))
        if not matches:
            return self
        out, last = _Text(), 0
        for m in matches:
            out.append(self.slice(last, m.start()))
            for piece in pieces:
                if isinstance(piece, int):
                    out.append(self.slice(m.start(piece), m.end(piece)))
                elif piece:  # an inserted string takes the offset before it, so offsets never decrease
                    out.insert(piece, out.pos[-1] if out.pos else self.pos[m.start()])
            last = m.end()
        out.append(self.slice(last, len(self.chars)))
        return out

    def without_markup(self) -> _Text:
        """The text with every HTML tag, comment and the like removed (:mod:`indexer.markup`)."""
        if "<" not in self.chars:
            return self
        keep = kept_indices(self.chars)
        return _Text("".join(self.chars[k] for k in keep), [self.pos[k] for k in keep])

    def split_lines(self) -> list[_Text]:
        out, last = [], 0
        while (i := self.chars.find("\n", last)) >= 0:
            out.append(self.slice(last, i))
            last = i + 1
        out.append(self.slice(last, len(self.chars)))
        return out

    def strip(self) -> _Text:
        start, end = 0, len(self.chars)
        while start < end and self.chars[start].isspace():
            start += 1
        while end > start and self.chars[end - 1].isspace():
            end -= 1
        return self.slice(start, end)


def _table_row(line: _Text, cell_sep: str) -> _Text:
    """``| a | b |`` as ``a：b`` (``a: b`` in English)."""
    cells, last = [], 0
    for i, ch in enumerate(line.chars + "|"):
        if ch == "|" and (i == 0 or line.chars[i - 1] != "\\"):
            cell = line.slice(last, i).strip()
            if cell.chars:
                cells.append(cell)
            last = i + 1
    out = _Text()
    for i, cell in enumerate(cells):
        if i:
            out.insert(cell_sep, cell.pos[0])
        out.append(cell)
    return out


def plain_text(body: str, start: int = 0, end: int | None = None, lang: str = "zh") -> tuple[str, list[int]]:
    """Plain text of ``body[start:end]`` and the body offset of each of its characters.

    Args:
        body: the article body (Markdown).
        start: first body offset to convert.
        end: end offset (default: the end of the body).
        lang: ``zh`` or ``en``; picks the table cell separator.

    Returns:
        ``(text, offsets)`` with ``len(offsets) == len(text)``; offsets never decrease.
        Inserted characters (line breaks, cell separators) point at the next kept
        character, link brackets at the previous one.
    """
    end = len(body) if end is None else end
    cell_sep = "：" if lang == "zh" else ": "
    lines: list[_Text] = []
    last_was_row = False
    # Markup goes first, over the whole range: a tag may span lines.
    for line in _Text(body[start:end], range(start, end)).without_markup().split_lines():
        raw = line.chars
        if _SKIP_LINE_RE.fullmatch(raw):
            last_was_row = False
            continue
        if _TABLE_SEP_RE.fullmatch(raw):
            if last_was_row and lines:
                lines.pop()  # the header row names the columns; a chat reply does not need it
            last_was_row = False
            continue
        prefix = _PREFIX_RE.match(raw)
        skip = prefix.end() if prefix else 0
        text = line.slice(skip, len(raw))
        is_row = raw.lstrip().startswith("|")
        if is_row:
            text = _table_row(text, cell_sep)
        for triggers, pattern, pieces in _INLINE:
            if any(t in text.chars for t in triggers):
                text = text.sub(pattern, pieces)
        if "  " in text.chars or "\t" in text.chars:
            text = text.sub(_SPACES_RE, (" ",))
        text = text.strip()
        last_was_row = is_row
        if text.chars:
            lines.append(text)
    out = _Text()
    for i, line in enumerate(lines):
        if i:
            out.insert("\n", line.pos[0])
        out.append(line)
    return out.chars, out.pos


@lru_cache(maxsize=8192)
def plain_chunk(text: str, lang: str = "zh") -> str:
    """Plain text of a whole chunk, cached: the suggest path shows the same chunks over and over."""
    return plain_text(text, lang=lang)[0]
