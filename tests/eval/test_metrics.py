"""Metric functions against hand-computed values."""

import math

import pytest

from eval import metrics


def test_recall_counts_share_of_relevant_in_top_k():
    ranking = ["a", "x", "b", "y", "c"]
    assert metrics.recall_at(ranking, {"a", "b", "c", "d"}, 1) == 0.25
    assert metrics.recall_at(ranking, {"a", "b", "c", "d"}, 3) == 0.5
    assert metrics.recall_at(ranking, {"a", "b", "c", "d"}, 10) == 0.75


def test_mrr_is_reciprocal_rank_of_first_relevant():
    assert metrics.mrr_at(["x", "a", "b"], {"a", "b"}, 10) == 0.5
    assert metrics.mrr_at(["x", "y", "a"], {"a"}, 2) == 0.0
    assert metrics.mrr_at(["a"], {"a"}, 1) == 1.0


def test_ndcg_with_several_relevant_articles():
    # relevant at ranks 2 and 3 of 3 relevant: DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3) + 1/2
    value = metrics.ndcg_at(["x", "a", "b", "y"], {"a", "b", "c"}, 10)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3) + 0.5)
    assert value == pytest.approx(expected)
    assert value == pytest.approx(0.5307, abs=1e-4)


def test_ndcg_ideal_is_capped_at_k():
    # 3 relevant but k=1: IDCG has one term, so a relevant first hit scores 1
    assert metrics.ndcg_at(["a", "x"], {"a", "b", "c"}, 1) == 1.0


@pytest.mark.parametrize("name", metrics.MEASURES)
def test_empty_run_scores_zero(name):
    assert metrics.measure(name, [], {"a"}) == 0.0


@pytest.mark.parametrize("name", metrics.MEASURES)
def test_no_match_scores_zero(name):
    assert metrics.measure(name, ["x", "y", "z"], {"a", "b"}) == 0.0


@pytest.mark.parametrize("name", metrics.MEASURES)
def test_no_relevant_scores_zero(name):
    assert metrics.measure(name, ["a"], set()) == 0.0


def test_mean_measures_skips_queries_without_relevant_articles():
    pairs = [(["a", "b"], {"a"}), (["x", "b"], {"b"}), (["a"], set())]
    means = metrics.mean_measures(pairs)
    assert means["recall@1"] == 0.5
    assert means["mrr@10"] == 0.75
    assert metrics.mean_measures([(["a"], set())]) == dict.fromkeys(metrics.MEASURES, 0.0)


@pytest.mark.parametrize("name", ["recall", "ndcg@", "ndcg@0", "map@10", "mrr@x"])
def test_parse_measure_rejects_unknown_names(name):
    with pytest.raises(ValueError, match="unknown measure"):
        metrics.parse_measure(name)


def test_no_answer_detection_precision_and_recall():
    # truth: q1..q3 answerable, q4..q5 not; flagged unanswerable: q3, q4
    predicted = [True, True, False, False, True]
    truth = [True, True, True, False, False]
    assert metrics.no_answer_detection(predicted, truth) == {"precision": 0.5, "recall": 0.5}


def test_no_answer_detection_nothing_flagged_is_zero():
    assert metrics.no_answer_detection([True, True], [True, False]) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_of_flagging():
    assert metrics.precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert metrics.precision_recall([False, False], [True, False]) == (0.0, 0.0)
