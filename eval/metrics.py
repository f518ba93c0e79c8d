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


def no_answer_detection(predicted_answerable: Sequence[bool], truly_answerable: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of detecting no-answer queries (the positive class is ``answerable=false``).

    precision = |flagged ∩ no-answer| / |flagged|,  recall = |flagged ∩ no-answer| / |no-answer|
    where "flagged" are queries the retriever marked unanswerable; a ratio with an empty
    denominator is 0.
    """
    flagged = [not p for p in predicted_answerable]
    positive = [not t for t in truly_answerable]
    tp = sum(f and p for f, p in zip(flagged, positive, strict=True))
    n_flagged, n_positive = sum(flagged), sum(positive)
    return {
        "precision": tp / n_flagged if n_flagged else 0.0,
        "recall": tp / n_positive if n_positive else 0.0,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
