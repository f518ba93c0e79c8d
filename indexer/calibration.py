"""How much the ensemble's multilingual model should count for English queries, fitted per KB on its own titles.

The English model and USE are not equally good on every KB: on one the English model
separates the articles far better (technical FAQs), on another USE adds what it misses
(short intents). A fixed weight cannot serve both (eval/RESULTS.md, held-out table), and
a team's KB is not one of our public sets. So each build asks its own English articles:
every title, embedded as a query, should find its article. For each weight ``u`` of
:data:`WEIGHTS` the mixed score ``(u · cos_use + cos_st) / (u + 1)`` of each title
against every English article (best chunk) is computed, and the weight whose own-article
margin stands out most from the other articles (``(own − best other) / sd(others)``,
averaged over titles) is kept in the build's manifest (``ensemble_use_weight``).

Titles are embedded within their chunks, so every weight finds nearly every article:
what differs is how clearly, which is what the margin measures. The service multiplies
the result by ``KB_CALIBRATED_USE_SCALE`` (chosen by leave-one-dataset-out,
``kbassist eval holdout``), since a title is a cleaner query than a customer's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.embed import Embedder, EnsembleEmbedder, Vectors

WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0)
# Fewest English titled articles a weight is fitted on; below it the configured weight stays.
MIN_TITLES = 10
# Most titles embedded (evenly spread over the KB): enough for a stable mean, bounded build time.
MAX_TITLES = 200


def calibrated_use_weight(
    embedder: Embedder,
    articles: Sequence[Mapping[str, Any]],
    chunk_article: NDArray[np.int64],
    vectors: NDArray[np.float32],
    embed_queries: Callable[[Sequence[str]], Vectors] | None = None,
) -> float | None:
    """The USE weight whose mix best tells each English title's article from the others (None: cannot say).

    Args:
        embedder: the build's embedder; only an ensemble has two models to weigh.
        articles: per article (in ``chunk_article``'s numbering), its metadata (``title``, ``lang``).
        chunk_article: per chunk, the index of its article.
        vectors: the build's chunk vectors.
        embed_queries: embeds the titles as queries (default ``embedder.embed_queries``; a build
            passes one that reuses the previous build's vectors of the same titles).
    """
    if not isinstance(embedder, EnsembleEmbedder):
        return None
    english = [i for i, a in enumerate(articles) if a.get("lang") == "en" and str(a.get("title") or "").strip()]
    if len(english) < MIN_TITLES:
        return None
    step = max(1, len(english) // MAX_TITLES)
    asked = english[::step][:MAX_TITLES]
    queries = (embed_queries or embedder.embed_queries)([str(articles[i]["title"]) for i in asked])
    split = embedder.split
    # Columns are the English articles (ascending, as ``english`` is); each article's best chunk by
    # one reduction over its chunks' run, the chunks ordered by column first.
    columns = np.asarray(english, np.int64)
    rows = np.flatnonzero(np.isin(chunk_article, columns))
    owner_col = np.searchsorted(columns, chunk_article[rows])
    order = np.argsort(owner_col, kind="stable")
    rows, owner_col = rows[order], owner_col[order]
    starts = np.flatnonzero(np.r_[True, owner_col[1:] != owner_col[:-1]]) if len(rows) else rows
    own = np.searchsorted(columns, asked)
    parts = []
    for sl in (slice(0, split), slice(split, None)):
        best = np.full((len(asked), len(english)), -np.inf, np.float32)
        if len(rows):
            chunk_scores = queries[:, sl] @ np.asarray(vectors[rows, sl]).T
            best[:, owner_col[starts]] = np.maximum.reduceat(chunk_scores, starts, axis=1)
        parts.append(best)
    margins = [_margin((u * parts[0] + parts[1]) / (u + 1), own) for u in WEIGHTS]
    return WEIGHTS[int(np.argmax(margins))]


def _margin(scores: NDArray[np.float32], own: NDArray[np.int64]) -> float:
    """Mean over titles of (own article's score − best other's) / spread of the others'."""
    index = np.arange(len(own))
    mine = scores[index, own]
    others = scores.copy()
    others[index, own] = np.nan
    spread = np.nanstd(others, axis=1)
    return float(np.mean((mine - np.nanmax(others, axis=1)) / np.where(spread > 0, spread, 1.0)))
