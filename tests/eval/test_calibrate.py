"""Choosing the answerability threshold."""

import numpy as np
import pytest

from eval.calibrate import best_recall, highest_threshold


def test_highest_threshold_keeps_the_precision():
    probs = np.array([0.05, 0.1, 0.2, 0.3, 0.6, 0.9])
    no_answer = np.array([True, True, False, True, False, False])
    # p < 0.2 flags two no-answer queries (P 1.0); p < 0.21 adds an answerable one (P 0.67)
    assert highest_threshold([probs], [no_answer], 0.9) == pytest.approx(0.2)
    assert best_recall(probs.tolist(), no_answer.tolist(), 0.9) == pytest.approx(2 / 3)
