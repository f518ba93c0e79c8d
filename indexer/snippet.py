"""The snippet of a hit: a window of its best chunk around the first query term, with the terms marked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

SNIPPET_CHARS = 200


def _marked_words(terms: Sequence[str]) -> set[str]:
    """The terms worth marking: any non-ASCII term, and ASCII ones longer than a character."""
    return {t for t in terms if t and len(t) > 1 or (t and not t.isascii())}


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of the terms worth marking, longest first (built once per query)."""
    words = sorted(_marked_words(terms), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def _found_spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """What the alternation of ``words`` finds in ``text``, by ``str.find`` (see :func:`highlight_spans`).

    The regex takes, scanning left to right, the longest word matching at the first
    position where any matches, then goes on after it: the same as taking every
    occurrence by start, longest first, and skipping those that overlap a taken one.
    """
    found = []
    for word in words:
        at = text.find(word)
        while at >= 0:
            found.append((at, -len(word)))
            at = text.find(word, at + 1)
    spans, last = [], 0
    for start, negative_length in sorted(found):
        if start >= last:
            last = start - negative_length
            spans.append((start, last))
    return spans


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans of ``text`` where any term occurs (case-insensitive).

    Compiling the alternation costs more than the rest of a snippet, and most searches
    need none: words without case (Chinese, digits) match only themselves, and ASCII
    words in ASCII text match case-insensitively as lower-cased, so both are found
    with ``str.find``; other cased words need the regex's Unicode case folding (``ı``
    matches ``I``, ``K`` (Kelvin) matches ``k``).
    """
    if not text:
        return []
    words = _marked_words(terms)
    cased = [w for w in words if w.lower() != w.upper()]
    if not cased:
        return _found_spans(text, list(words))
    if text.isascii() and all(w.isascii() for w in cased):
        return _found_spans(text.lower(), [w.lower() for w in words if w.isascii()])
    pattern = _terms_pattern(tuple(terms))
    return [(m.start(), m.end()) for m in pattern.finditer(text)] if pattern is not None else []


def make_snippet(text: str, terms: Sequence[str], size: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` of at most ``size`` characters around the first matched term."""
    text = " ".join(text.split())
    spans = highlight_spans(text, terms)
    if len(text) <= size:
        return text, spans
    start = max(0, spans[0][0] - size // 4) if spans else 0
    end = min(len(text), start + size)
    start = max(0, end - size)
    window = text[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shifted = [(a - start + len(prefix), b - start + len(prefix)) for a, b in spans if a >= start and b <= end]
    return prefix + window + suffix, shifted
