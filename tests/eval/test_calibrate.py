import numpy as np
import pytest

from eval.calibrate import best_recall, highest_threshold
from eval.metrics import precision_recall
from eval.stats import fit_logistic, roc_auc


def test_roc_auc_hand_computed_with_a_tie():
    # positives 0.9, 0.5; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1) -> 3.5 / 4
    assert roc_auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == pytest.approx(0.875)


def test_precision_recall_of_flagging():
    assert precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert precision_recall([False, False], [True, False]) == (0.0, 0.0)


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


def test_highest_threshold_keeps_the_precision():
    probs = np.array([0.05, 0.1, 0.2, 0.3, 0.6, 0.9])
    no_answer = np.array([True, True, False, True, False, False])
    # p < 0.2 flags two no-answer queries (P 1.0); p < 0.21 adds an answerable one (P 0.67)
    assert highest_threshold([probs], [no_answer], 0.9) == pytest.approx(0.2)
    assert best_recall(probs.tolist(), no_answer.tolist(), 0.9) == pytest.approx(2 / 3)
