"""The snippet of a hit: a window of its best chunk around the first query term, with the terms marked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

SNIPPET_CHARS = 200


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of the terms worth marking, longest first (built once per query)."""
    words = sorted({t for t in terms if t and len(t) > 1 or (t and not t.isascii())}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans of ``text`` where any term occurs (case-insensitive)."""
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
