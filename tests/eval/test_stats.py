"""Statistics: paired randomization test, ROC AUC, logistic regression, percentiles."""

import numpy as np
import pytest

from eval.stats import compare_all, fit_logistic, paired_randomization, percentile, roc_auc


def test_identical_runs_are_not_different():
    assert paired_randomization([0.5, 1.0, 0.0], [0.5, 1.0, 0.0]) == 1.0


def test_consistent_difference_is_significant():
    a = [1.0] * 30
    b = [0.0] * 30
    assert paired_randomization(a, b, n_resamples=2000) < 0.001


def test_noise_is_not_significant():
    a = [1.0, 0.0] * 20
    b = [0.0, 1.0] * 20
    assert paired_randomization(a, b) == 1.0


def test_compare_all_pairs_on_shared_queries():
    per_query = {"A": {"q1": 1.0, "q2": 1.0}, "B": {"q1": 0.0, "q2": 1.0, "q3": 1.0}, "C": {"q1": 1.0, "q2": 1.0}}
    out = compare_all(per_query, "mrr@10")
    assert [(c.a, c.b, c.n) for c in out] == [("A", "B", 2), ("A", "C", 2), ("B", "C", 2)]
    assert out[0].mean_a == 1.0 and out[0].mean_b == 0.5
    assert out[1].p_value == 1.0 and not out[1].significant


def test_percentile_interpolates():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) == 0.0
    assert percentile(list(map(float, range(101))), 95) == 95.0


def test_roc_auc_hand_computed_with_a_tie():
    # positives 0.9, 0.5; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1) -> 3.5 / 4
    assert roc_auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == pytest.approx(0.875)


def test_fit_logistic_reaches_the_weighted_maximum_likelihood():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 > rng.normal(scale=0.3, size=400)).astype(float)
    w = rng.random(400)
    beta = fit_logistic(x, y, w, l2=0.0)
    xb = np.hstack([np.ones((400, 1)), x])
    p = 1 / (1 + np.exp(-(xb @ beta)))
    assert np.abs(xb.T @ (w * (p - y))).max() < 1e-6  # the score equations hold
    assert beta[1] > 4 * abs(beta[2]) and beta[0] < 0
