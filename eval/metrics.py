"""Ranking metrics as small pure functions, plus the no-answer detection measure.

Each ranking metric takes ``ranking`` (retrieved doc ids, best first) and ``relevant``
(the judged relevant ids, binary relevance) and returns a value in [0, 1]. Queries
with no relevant document are not scored by them: :func:`mean_measures` skips them,
and :func:`no_answer_detection` scores them instead.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

MEASURES = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def recall_at(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant documents found in the top ``k``.

    recall@k = |relevant ∩ ranking[:k]| / |relevant|  (0 when nothing is relevant)
    """
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def mrr_at(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k``.

    rr@k = 1 / min{ i ≤ k : ranking[i] ∈ relevant }  (1-based; 0 if none in the top k)
    """
    for i, doc in enumerate(ranking[:k], 1):
        if doc in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary gains.

    DCG@k  = Σ_{i=1..k} rel_i / log2(i + 1),  rel_i = 1 if ranking[i] ∈ relevant else 0
    IDCG@k = Σ_{i=1..min(k, |relevant|)} 1 / log2(i + 1)
    nDCG@k = DCG@k / IDCG@k  (0 when nothing is relevant)
    """
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(ranking[:k], 1) if doc in relevant)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(relevant)) + 1))
    return dcg / idcg


def parse_measure(name: str) -> tuple[str, int]:
    """Split ``"ndcg@10"`` into ``("ndcg", 10)``.

    Raises:
        ValueError: unknown measure or missing cutoff.
    """
    base, sep, cutoff = name.partition("@")
    if base not in ("recall", "mrr", "ndcg") or not sep or not cutoff.isdigit() or int(cutoff) < 1:
        raise ValueError(f"unknown measure {name!r} (use recall@k, mrr@k or ndcg@k)")
    return base, int(cutoff)


def measure(name: str, ranking: Sequence[str], relevant: Collection[str]) -> float:
    """Value of the measure called ``name`` (e.g. ``"mrr@10"``) for one query."""
    base, k = parse_measure(name)
    fn = {"recall": recall_at, "mrr": mrr_at, "ndcg": ndcg_at}[base]
    return fn(ranking, relevant, k)


def mean_measures(
    pairs: Sequence[tuple[Sequence[str], Collection[str]]], names: Sequence[str] = MEASURES
) -> dict[str, float]:
    """Mean of each measure over the ``(ranking, relevant)`` pairs that have a relevant document.

    Returns 0.0 for every measure when no pair is judged.
    """
    judged = [(r, rel) for r, rel in pairs if rel]
    if not judged:
        return dict.fromkeys(names, 0.0)
    return {name: sum(measure(name, r, rel) for r, rel in judged) / len(judged) for name in names}


def precision_recall(flagged: Sequence[bool], positive: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of ``flagged`` as a detector of ``positive``.

    precision = |flagged ∩ positive| / |flagged|,  recall = |flagged ∩ positive| / |positive|
    (a ratio with an empty denominator is 0).
    """
    tp = sum(bool(f) and bool(p) for f, p in zip(flagged, positive, strict=True))
    n_flagged, n_positive = sum(bool(f) for f in flagged), sum(bool(p) for p in positive)
    return (tp / n_flagged if n_flagged else 0.0), (tp / n_positive if n_positive else 0.0)


def no_answer_detection(predicted_answerable: Sequence[bool], truly_answerable: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of detecting no-answer queries (the positive class is ``answerable=false``).

    "Flagged" are the queries the retriever marked unanswerable (see :func:`precision_recall`).
    """
    precision, recall = precision_recall([not p for p in predicted_answerable], [not t for t in truly_answerable])
    return {"precision": precision, "recall": recall}
