"""Choosing the answerability threshold."""

from dataclasses import replace

import numpy as np
import pytest

from eval.calibrate import SIGNALS, best_recall, collect_cached, highest_threshold
from eval.datasets import load_dataset
from eval.run import CACHE
from tests.eval.conftest import EVAL_MINI, FakeFactory


def test_highest_threshold_keeps_the_precision():
    probs = np.array([0.05, 0.1, 0.2, 0.3, 0.6, 0.9])
    no_answer = np.array([True, True, False, True, False, False])
    # p < 0.2 flags two no-answer queries (P 1.0); p < 0.21 adds an answerable one (P 0.67)
    assert highest_threshold([probs], [no_answer], 0.9) == pytest.approx(0.2)
    assert best_recall(probs.tolist(), no_answer.tolist(), 0.9) == pytest.approx(2 / 3)


def test_collect_cached_reuses_the_signals_of_the_same_inputs_only(eval_settings, tmp_path):
    ds = load_dataset(EVAL_MINI, tmp_path / "work")
    first = collect_cached("mini", ds.articles, ds.queries, eval_settings, FakeFactory())
    assert [s.answerable for s in first] == [q.answerable for q in ds.queries]
    folder = eval_settings.data_dir / CACHE / SIGNALS
    assert len(list(folder.glob("*.jsonl"))) == 1

    def no_search(settings, threads=None):
        raise AssertionError("searched although the signals were saved")

    assert collect_cached("mini", ds.articles, ds.queries, eval_settings, no_search) == first
    # another query text is another key: searched again, the first file kept
    changed = [replace(ds.queries[0], text="退款到账了吗"), *ds.queries[1:]]
    collect_cached("mini", ds.articles, changed, eval_settings, FakeFactory())
    assert len(list(folder.glob("*.jsonl"))) == 2
    assert not list(folder.glob("*.tmp"))
