"""Content gaps: masked queries the KB did not serve well, grouped by meaning.

A gap query (``facts.load_gap_queries``) is a suggestion whose query is kept (not blanked by
retention) and that was either not ``answerable`` or shown and never used. Queries are
embedded with the service's query embedder and grouped by scikit-learn's
``AgglomerativeClustering`` (average linkage on cosine distance, cut at
``KB_USAGE_GAP_DISTANCE``): no number of groups to guess, and every member is within the
cut of its group on average. The pairwise matrix is quadratic, so only the newest
:data:`MAX_QUERIES` gap queries are grouped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAX_QUERIES = 1000
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Gap:
    """One group of similar unserved queries."""

    size: int
    examples: list[str]
    closest_article: str | None


def load_clustering() -> None:
    """Import scikit-learn's clustering now (the service's start-up) rather than on the first gaps request.

    The import takes ~1 s on an idle core (``python -X importtime``), which a team lead's first
    dashboard load would otherwise wait for; :func:`cluster` keeps its own import for the CLI.
    """
    import sklearn.cluster  # noqa: F401


def cluster(vectors: NDArray[np.float32], distance: float) -> NDArray[np.int64]:
    """Group labels for unit ``vectors``: average-linkage clusters whose cosine distance stays under ``distance``."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance)
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def find_gaps(
    queries: Sequence[str],
    embed: Callable[[list[str]], NDArray[np.float32]],
    distance: float,
    closest: Callable[[str], str | None],
) -> list[Gap]:
    """Groups of ``queries``, largest first, each with its size, three examples and the closest article.

    Args:
        queries: masked gap queries.
        embed: the query embedder (unit vectors).
        distance: the clustering cut (cosine distance).
        closest: the nearest existing article of a query (the serving build's top hit), or None.
    """
    if not queries:
        return []
    labels = cluster(np.asarray(embed(list(queries)), dtype=np.float32), distance)
    groups: dict[int, list[str]] = {}
    for query, label in zip(queries, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(query)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    return [Gap(len(g), list(dict.fromkeys(g))[:EXAMPLES], closest(g[0])) for g in ordered]
