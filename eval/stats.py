"""Statistics of evaluation: paired significance tests, ROC AUC, logistic regression, percentiles."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray


class Comparison(NamedTuple):
    """Configuration ``a`` against ``b`` on one per-query measure."""

    a: str
    b: str
    measure: str
    mean_a: float
    mean_b: float
    p_value: float
    n: int

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at α = 0.05."""
        return self.p_value < 0.05


def paired_randomization(a: Sequence[float], b: Sequence[float], n_resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomization (sign-flip) test on the mean difference.

    Under H0 each per-query difference d_i = a_i − b_i is equally likely to have either
    sign. p = (1 + #{resamples with |mean(s·d)| ≥ |mean(d)|}) / (1 + n_resamples),
    with s_i ∈ {−1, +1} drawn uniformly (Smucker et al., CIKM 2007).
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0 or not np.any(d):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, n_resamples, 1000):
        size = min(1000, n_resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, d.size))
        extreme += int(np.sum(np.abs(signs @ d) / d.size >= observed - 1e-12))
    return (1 + extreme) / (1 + n_resamples)


def compare_all(
    per_query: Mapping[str, Mapping[str, float]],
    measure: str,
    seed: int = 0,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> list[Comparison]:
    """Pairs of configurations (default: every pair), compared on the queries both have scores for.

    Args:
        per_query: configuration name -> (query id -> value of ``measure``).
        measure: name of the measure, for the report.
        seed: seed of the randomization test.
        pairs: the pairs to compare, if not all of them.
    """
    out = []
    for a, b in pairs if pairs is not None else combinations(per_query, 2):
        qids = sorted(set(per_query[a]) & set(per_query[b]))
        xa = [per_query[a][q] for q in qids]
        xb = [per_query[b][q] for q in qids]
        out.append(
            Comparison(
                a,
                b,
                measure,
                float(np.mean(xa)) if qids else 0.0,
                float(np.mean(xb)) if qids else 0.0,
                paired_randomization(xa, xb, seed=seed),
                len(qids),
            )
        )
    return out


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], weight: NDArray[np.float64], l2: float = 1e-2, steps: int = 50
) -> NDArray[np.float64]:
    """Weighted L2-regularised logistic regression by Newton's method; returns ``(bias, w…)``."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(xb.shape[1])
    ridge = l2 * np.eye(xb.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ beta)))
        grad = xb.T @ (weight * (p - y)) + ridge @ beta
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + ridge
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def roc_auc(score: Sequence[float], positive: Sequence[bool]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    s = np.asarray(score, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    for value in np.unique(s):
        tie = s == value
        ranks[tie] = ranks[tie].mean()
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
