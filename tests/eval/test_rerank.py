"""The learned reranker / answerability experiment: leaving articles out, merging collections, features, curves."""

import dataclasses

import numpy as np
import pytest

from eval import rerank, rerank_lodo
from eval.holdout import Setting
from tests.eval.test_holdout import _features

INF = np.inf
SHIPPED = Setting("weighted", 0.35, 0.05, 0.02, 2.0)


def test_leaving_every_article_out_makes_every_query_a_no_answer_query():
    f = _features(use=[[0.9, 0.5], [0.4, 0.8]], relevant=[[True, False], [False, True]])
    left = rerank.leave_articles_out(f, 1.0, 0)
    assert not left.valid.any()
    assert left.n_relevant.tolist() == [0, 0]
    assert not left.relevant.any()


def test_leaving_no_article_out_changes_nothing():
    f = _features(use=[[0.9, 0.5], [0.4, 0.8]], relevant=[[True, False], [False, True]])
    left = rerank.leave_articles_out(f, 0.0, 0)
    np.testing.assert_array_equal(left.use, f.use)
    np.testing.assert_array_equal(left.n_relevant, f.n_relevant)


def test_a_query_loses_its_answer_exactly_when_its_relevant_article_is_left_out():
    rng = np.random.default_rng(1)
    use = rng.random((40, 8)).astype(np.float32)
    relevant = np.eye(8, dtype=bool)[rng.integers(0, 8, 40)]
    f = _features(use=use, relevant=relevant)
    left = rerank.leave_articles_out(f, 0.5, 3)
    gone = ~left.valid
    assert gone.any() and (~gone).any()
    # The same articles are gone in every query.
    assert (gone == gone[0]).all()
    lost = (relevant & gone).any(1)
    assert (left.n_relevant == 0).tolist() == lost.tolist()
    assert not (left.relevant & gone).any()


def test_concat_merges_the_article_indices_of_collections_of_one_kb():
    a = _features(use=[[0.9, 0.5]], relevant=[[True, False]])
    b = _features(use=[[0.3, 0.2, 0.1]], relevant=[[False, False, False]])
    b = dataclasses.replace(b, article_ids=np.array(["a1", "x", "a0"]), titles=np.array(["t1", "tx", "t0"]))
    a = dataclasses.replace(a, titles=np.array(["t0", "t1"]))
    both = rerank.concat([a, b])
    assert both.use.shape == (2, 3)
    assert not np.isfinite(both.use[0, 2])
    ids = [str(both.article_ids[i]) for i in both.article[1]]
    assert ids == ["a1", "x", "a0"]
    assert both.titles is not None
    assert [str(both.titles[i]) for i in both.article[1]] == ["t1", "tx", "t0"]


def test_pr_curve_and_recall_at_precision_by_hand():
    p = np.array([0.1, 0.2, 0.3, 0.9])
    no = np.array([True, False, True, False])
    curve = rerank.pr_curve(p, no)
    # Flag p <= 0.1: P 1, R 0.5; p <= 0.2: P 0.5, R 0.5; p <= 0.3: P 2/3, R 1.
    assert curve[0][1:] == (1.0, 0.5)
    assert curve[2][1:] == pytest.approx((2 / 3, 1.0))
    assert rerank.recall_at(curve, 0.9) == 0.5
    assert rerank.recall_at(curve, 0.6) == 1.0


def test_cell_features_keep_the_top_candidates_in_hybrid_order_with_title_overlap():
    use = [[0.1 * i for i in range(30)]]
    f = _features(use=use, relevant=[[i == 29 for i in range(30)]])
    titles = np.array(["退货流程" if i == 29 else "x" for i in range(30)])
    f = dataclasses.replace(f, text=np.array(["退货流程"]), titles=titles)
    cells = rerank.cell_features(f, SHIPPED)
    assert len(cells.x) == rerank.TOP_N
    assert cells.column[0] == 29
    rank = rerank.CELL_FEATURES.index("hybrid_rank")
    assert cells.x[:, rank].tolist() == list(range(rerank.TOP_N))
    overlap = rerank.CELL_FEATURES.index("overlap")
    assert cells.x[0, overlap] == 1.0 and cells.x[1, overlap] == 0.0


def test_reranked_puts_the_top_candidates_in_the_ranker_s_order_above_the_rest():
    f = _features(use=[[0.9, 0.8, 0.7]], relevant=[[False, False, True]])
    cells = rerank.cell_features(f, SHIPPED)
    pred = np.where(cells.column == 2, 1.0, 0.0)
    assert rerank.ranking_scores(f, cells.hybrid)[1] == pytest.approx(1 / 3)
    assert rerank.ranking_scores(f, rerank.reranked(cells, pred))[1] == 1.0


def test_query_features_describe_each_query_s_best_cell_by_the_given_score():
    f = _features(use=[[0.9, 0.5, 0.2], [0.3, 0.6, -INF]], relevant=[[True, False, False], [False, True, False]])
    cells = rerank.cell_features(f, SHIPPED)
    score = -cells.x[:, rerank.CELL_FEATURES.index("use")]  # the worst cosine first
    x = rerank.query_features(cells, score, 2)
    use = rerank.CELL_FEATURES.index("use")
    assert x[:, use].tolist() == pytest.approx([0.2, 0.3])
    assert x[:, len(rerank.CELL_FEATURES) + rerank.QUERY_FEATURES.index("max_use")].tolist() == pytest.approx(
        [0.9, 0.6]
    )


def _synthetic(seed: int, n: int = 120, width: int = 12):
    rng = np.random.default_rng(seed)
    relevant = np.eye(width, dtype=bool)[rng.integers(0, width, n)]
    use = (rng.random((n, width)) * 0.5 + relevant * rng.random((n, 1)) * 0.6).astype(np.float32)
    return _features(use=use, relevant=relevant)


def test_the_experiment_learns_a_separable_signal_and_reports_every_set():
    public = {f"set{i}": _synthetic(i) for i in range(3)}
    golden = rerank.concat([_synthetic(9, 60), rerank.leave_articles_out(_synthetic(10, 60), 1.0, 0)])
    text = rerank_lodo.experiment(public, None, golden, SHIPPED)
    assert all(f"| set{i} |" in text for i in range(3))
    assert "60 no-answer queries" in text
    row = next(line for line in text.splitlines() if line.startswith("| top USE cosine alone"))
    # Every no-answer query here has no candidate at all, so the top cosine separates them perfectly.
    assert row.split("|")[2].strip() == "1.000"
