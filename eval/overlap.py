"""Near-copies of titles: golden queries that mostly repeat the title of an article they are labelled with.

A query written by reading an article's title ("退货上门取件怎么预约" for the article
"退货上门取件怎么预约？费用是多少") measures title matching, not what a customer's own
words find. The measure is lexical and cheap, so a test can bound it on the shipped set:

    overlap(q, t) = |B(q) ∩ B(t)| / |B(q)|

where ``B(x)`` is the set of character bigrams of ``x`` after NFKC folding and lowercasing,
taken inside runs of letters and digits (never across a space or punctuation), so a
Chinese query and an English one are measured alike. A query is a near-copy when its
overlap with the title of any of its relevant articles is at least :data:`NEAR_COPY`.
No-answer queries have no article and are never near-copies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from eval.data import Query
from indexer.build import load_content

NEAR_COPY = 0.5
_RUN_RE = re.compile(r"[^\W_]+")


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of ``text`` inside runs of letters and digits (NFKC, lowercase)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return frozenset(run[i : i + 2] for run in _RUN_RE.findall(folded) for i in range(len(run) - 1))


def title_overlap(query: str, titles: Iterable[str]) -> float:
    """The largest share of ``query``'s bigrams found in one of ``titles`` (0 for no bigram or no title)."""
    own = bigrams(query)
    if not own:
        return 0.0
    return max((len(own & bigrams(t)) / len(own) for t in titles), default=0.0)


def near_copies(queries: Sequence[Query], titles: Mapping[str, str], threshold: float = NEAR_COPY) -> list[Query]:
    """The answerable queries whose overlap with a relevant article's title reaches ``threshold``.

    Args:
        queries: evaluation queries.
        titles: article id -> title; a relevant id missing here is skipped.
        threshold: the near-copy bound (default :data:`NEAR_COPY`).
    """
    return [
        q
        for q in queries
        if q.answerable and title_overlap(q.text, [titles[i] for i in q.relevant_ids if i in titles]) >= threshold
    ]


def article_titles(source: Path) -> dict[str, str]:
    """Article id -> title of every article in a content folder or articles file (any status)."""
    return {a.id: a.title for a in load_content(source).articles}
