"""Heading-aware chunking of articles into passages with character offsets.

A chunk never crosses a heading. Inside a section, text is cut at sentence ends
(Chinese 。！？； and English . ! ? followed by a space, plus line breaks) and sentences
are packed greedily up to ``size`` characters. Offsets index into ``Article.body`` so a
client can highlight the passage in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.article import HEADING_MARK, Article

_HEADING_RE = re.compile(rf"^({HEADING_MARK})\s+(.+?)\s*#*\s*$")
# A sentence ends after CJK/ASCII terminal punctuation (plus closing quotes/brackets) or at a line break.
_SENTENCE_END_RE = re.compile(r"[。！？；!?;]+[”’」』）)\"']*|\.(?=\s)[”’\"')]*|\n+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of one article: what is embedded and what a snippet shows."""

    article_id: str
    ordinal: int
    heading_path: tuple[str, ...]
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict of this chunk, ``article_id`` first (a rebuild reads just that key of a line)."""
        return {
            "article_id": self.article_id,
            "ordinal": self.ordinal,
            "heading_path": list(self.heading_path),
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Chunk:
        """Inverse of :meth:`to_json`."""
        return cls(
            article_id=str(data["article_id"]),
            ordinal=int(data["ordinal"]),  # type: ignore[call-overload]
            heading_path=tuple(data["heading_path"]),  # type: ignore[arg-type]
            start=int(data["start"]),  # type: ignore[call-overload]
            end=int(data["end"]),  # type: ignore[call-overload]
            text=str(data["text"]),
        )


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, shifted by ``offset``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END_RE.finditer(text):
        spans.append((pos, m.end()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s + offset, e + offset))
    return out


def _sections(article: Article) -> list[tuple[tuple[str, ...], int, int]]:
    """Split the body at headings: ``(heading path, start, end)`` of each section's text."""
    body = article.body
    sections: list[tuple[tuple[str, ...], int, int]] = []
    stack: list[tuple[int, str]] = []
    sec_start = 0
    path: tuple[str, ...] = ()
    pos = 0
    for line in body.splitlines(keepends=True):
        m = _HEADING_RE.match(line.rstrip("\r\n"))
        if m:
            sections.append((path, sec_start, pos))
            level, title = len(m.group(1)), m.group(2).strip()
            stack = [(lv, t) for lv, t in stack if lv < level]
            stack.append((level, title))
            # The H1 normally repeats the article title, which is embedded anyway.
            path = tuple(t for lv, t in stack if not (lv == 1 and t == article.title))
            sec_start = pos + len(line)
        pos += len(line)
    sections.append((path, sec_start, len(body)))
    return [(p, s, e) for p, s, e in sections if body[s:e].strip()]


def chunk_article(article: Article, size: int) -> list[Chunk]:
    """Cut an article into chunks of at most about ``size`` characters.

    Args:
        article: the article; offsets refer to ``article.body``.
        size: target maximum chunk length in characters (a longer single sentence is
            cut hard at ``size``).

    Returns:
        Chunks in reading order; an article with an empty body yields one title-only chunk.
    """
    body = article.body
    chunks: list[Chunk] = []

    def emit(path: tuple[str, ...], start: int, end: int) -> None:
        chunks.append(Chunk(article.id, len(chunks), path, start, end, body[start:end]))

    for path, s, e in _sections(article):
        spans: list[tuple[int, int]] = []
        for a, b in split_sentences(body[s:e], s):
            while b - a > size:
                spans.append((a, a + size))
                a += size
            spans.append((a, b))
        cur: tuple[int, int] | None = None
        for a, b in spans:
            if cur is None:
                cur = (a, b)
            elif b - cur[0] <= size:
                cur = (cur[0], b)
            else:
                emit(path, *cur)
                cur = (a, b)
        if cur is not None:
            emit(path, *cur)
    if not chunks:
        chunks.append(Chunk(article.id, 0, (), 0, 0, ""))
    return chunks


def embed_text(title: str, chunk: Chunk) -> str:
    """The text embedded for a chunk: title, heading path, then the passage."""
    head = " / ".join((title, *chunk.heading_path)) if title else " / ".join(chunk.heading_path)
    return f"{head}\n{chunk.text}".strip()
