"""Leave-one-dataset-out fusion tuning: the offline scorer, the fitting protocol and the command."""

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest

from eval import holdout
from eval.holdout import Features, Setting
from indexer.dense import EnsembleScorer
from indexer.store import DenseIndex
from service.cli import main
from tests.conftest import FakeEmbedder
from tests.eval.conftest import EVAL_MINI

NAN = np.nan
INF = np.inf


def _features(use, relevant, st=None, bm25=None, english=None, same=None, n_relevant=None, title=None):
    use = np.array(use, np.float32)
    shape = use.shape
    st = np.array(st if st is not None else np.full(shape, NAN), np.float32)
    article = np.where(np.isfinite(use), np.arange(shape[1])[None, :], -1).astype(np.int32)
    return Features(
        english=np.array(english if english is not None else [False] * shape[0]),
        use=use,
        st=st,
        bm25=np.array(bm25 if bm25 is not None else np.zeros(shape), np.float32),
        same_lang=np.array(same if same is not None else np.isfinite(use)),
        relevant=np.array(relevant, bool),
        n_relevant=np.array(n_relevant if n_relevant is not None else np.sum(relevant, 1), np.int64),
        # One chunk per article unless a test says otherwise: the chunks' mean is the best chunk.
        use_mean=use,
        st_mean=st,
        article=article,
        article_ids=np.array([f"a{i}" for i in range(shape[1])]),
        text=np.array(["q"] * shape[0]),
        title=None if title is None else np.array(title, np.float32),
    )


def test_measures_match_hand_computed_recall_and_reciprocal_rank():
    # query 0: relevant ranked 2nd of 3 -> R@5 1, RR 1/2; query 1: one of two relevant
    # articles is a candidate (ranked 1st), the padding cell never counts -> R@5 1/2, RR 1.
    f = _features(
        use=[[0.9, 0.8, 0.1], [0.7, 0.2, -INF]],
        relevant=[[False, True, False], [True, False, True]],
        n_relevant=[1, 2],
    )
    recall5, mrr = holdout.measures(f, f.use)
    assert recall5 == pytest.approx((1 + 0.5) / 2)
    assert mrr == pytest.approx((0.5 + 1) / 2)


def test_measures_score_zero_when_the_relevant_article_is_not_in_the_top_ten():
    use = [[1.0 - i / 100 for i in range(12)]]
    relevant = [[i == 11 for i in range(12)]]
    assert holdout.measures(_features(use, relevant), np.array(use, np.float32)) == (0.0, 0.0)


def test_weighted_mix_is_the_shipped_formula_and_chinese_queries_keep_use():
    f = _features(
        use=[[0.5, 0.4], [0.5, 0.4]],
        st=[[0.2, 0.9], [0.2, 0.9]],
        relevant=[[False, True], [False, True]],
        english=[True, False],
    )
    dense = holdout.dense_scores(f, "weighted", 0.5)
    # English: (0.5 · use + 1.0 · st) / 1.5 (both top articles are English: share 1).
    np.testing.assert_allclose(dense[0], [(0.25 + 0.2) / 1.5, (0.2 + 0.9) / 1.5], rtol=1e-6)
    np.testing.assert_allclose(dense[1], [0.5, 0.4], rtol=1e-6)


def test_standardized_mix_ignores_each_model_s_spread_and_lands_on_the_use_scale():
    use = [[0.50, 0.49, 0.49, 0.49, 0.48]]
    st = np.array([[0.2, 0.2, 0.2, 0.2, 0.9]])
    f = _features(use=use, st=st, relevant=[[False] * 4 + [True]], english=[True])
    g = _features(use=use, st=0.5 + 3 * st, relevant=[[False] * 4 + [True]], english=[True])
    a, b = holdout.dense_scores(f, "standardized", 0.35), holdout.dense_scores(g, "standardized", 0.35)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert int(np.argmax(a[0])) == 4
    assert a[0].mean() == pytest.approx(0.49, abs=1e-5)
    assert a[0].std() == pytest.approx(f.use[0].std(), rel=1e-4)


def test_confidence_mix_ignores_a_model_that_separates_nothing():
    f = _features(use=[[0.50, 0.45, 0.40]], st=[[0.3, 0.3, 0.3]], relevant=[[True, False, False]], english=[True])
    np.testing.assert_allclose(holdout.dense_scores(f, "confidence", 0.0), f.use, rtol=1e-5)


def test_hybrid_adds_nothing_without_bm25_and_lets_bm25_decide_a_flat_dense_ranking():
    f = _features(use=[[0.5, 0.5, 0.5]], bm25=[[0.0, 3.0, 1.0]], relevant=[[False, True, False]])
    flat = holdout.hybrid_scores(f, f.use, 0.03, 0.02, 1.0)
    assert int(np.argmax(flat[0])) == 1
    no_bm25 = _features(use=[[0.9, 0.5]], relevant=[[True, False]])
    np.testing.assert_allclose(holdout.hybrid_scores(no_bm25, no_bm25.use, 0.03, 0.02, 1.0), no_bm25.use)


def test_language_gate_keeps_bm25_out_when_the_dense_top_mixes_languages():
    same = [[True, False, False]]
    f = _features(use=[[0.5, 0.5, 0.5]], bm25=[[3.0, 0.0, 0.0]], relevant=[[False, True, False]], same=same)
    np.testing.assert_allclose(holdout.hybrid_scores(f, f.use, 0.03, 0.02, 1.0), f.use)


def _setting(mix="weighted", use_weight=0.35):
    return Setting(mix, use_weight, 0.03, 0.02, 1.0)


def test_blend_averages_the_best_chunk_and_the_chunks_mean():
    f = _features(use=[[0.8, 0.6]], relevant=[[False, True]])
    f = dataclasses.replace(f, use_mean=np.array([[0.4, 0.6]], np.float32))
    np.testing.assert_allclose(holdout.dense_scores(f, "weighted", 0.35, "blend"), [[0.6, 0.6]])
    np.testing.assert_allclose(holdout.dense_scores(f, "weighted", 0.35, "best"), [[0.8, 0.6]])


def test_title_coverage_is_added_only_where_the_language_gate_is_open():
    use = [[0.9, 0.5, 0.4], [0.9, 0.5, 0.4]]
    f = _features(
        use=use,
        relevant=[[False, True, False]] * 2,
        same=[[True, True, True], [False, False, False]],
        title=[[0.0, 1.0, 0.5]] * 2,
    )
    dense = np.array(use, np.float32)
    got = holdout.hybrid_scores(f, dense, 0.03, 0.02, 1.0, title_weight=0.2)
    np.testing.assert_allclose(got[0], [0.9, 0.7, 0.5], rtol=1e-6)
    np.testing.assert_allclose(got[1], use[1], rtol=1e-6)


def test_leave_one_out_never_fits_on_the_set_it_scores():
    a, b = _setting(use_weight=0.1), _setting(use_weight=0.9)
    # a is best on x and y, b only on z: z's held-out fit is a, and its score there is a's.
    scores = {
        a: {"x": (0.9, 0.9), "y": (0.9, 0.9), "z": (0.3, 0.3)},
        b: {"x": (0.5, 0.5), "y": (0.5, 0.5), "z": (0.5, 0.5)},
    }
    rows = {r.name: r for r in holdout.leave_one_out(scores, ["x", "y", "z"])}
    assert rows["z"].held_out == a and rows["z"].held_out_score == (0.3, 0.3)
    assert rows["x"].held_out == a
    assert all(r.in_sample == a for r in rows.values())


def test_objective_weighs_each_set_the_same():
    assert holdout.objective([(1.0, 0.0), (0.5, 0.5)]) == pytest.approx(0.5)
    assert holdout.objective([]) == 0.0


def test_features_round_trip_through_the_cache_file(tmp_path):
    f = _features(use=[[0.9, -INF]], st=[[0.1, NAN]], relevant=[[True, False]], english=[True])
    path = holdout.cache_path(tmp_path, "set", "digest")
    f.save(path)
    back = Features.load(path)
    for name in Features.__slots__:
        np.testing.assert_array_equal(getattr(back, name), getattr(f, name))


def test_grid_has_one_confidence_entry_per_lexical_setting():
    grid = holdout.grid()
    lexical = len(holdout.LEXICAL_WEIGHTS) * len(holdout.LEXICAL_WEIGHTS_EN) * len(holdout.LEXICAL_CAPS)
    rest = len(holdout.ARTICLE_SCORES) * len(holdout.TITLE_WEIGHTS)
    assert sum(s.mix == "confidence" for s in grid) == lexical * rest
    assert len(set(grid)) == len(grid)


class FakeEnsemble(FakeEmbedder):
    """A FakeEmbedder whose vectors are [chars | chars of English text] and which scores like the ensemble."""

    backend = "ensemble"
    dim = 128

    def _vec(self, text):
        half = 64
        v = np.zeros(self.dim, np.float32)
        for ch in text.lower():
            if not ch.isspace():
                v[hash_slot(ch, half)] += 1.0
        if text.isascii():
            v[half:] = v[:half]
        n = np.linalg.norm(v[:half])
        return v / n if n else v + 1.0 / np.sqrt(self.dim)

    def dense_scorer(self, index, vectors):
        return EnsembleScorer(index, vectors, 64, 0.35, 1.0)


def hash_slot(ch, n):
    return int(hashlib.md5(ch.encode()).hexdigest(), 16) % n


def test_holdout_command_searches_each_set_once_and_prints_the_table(tmp_path, runner, eval_settings, monkeypatch):
    made = []

    def factory(settings, threads=None):
        made.append(FakeEnsemble())
        return made[-1]

    monkeypatch.setattr("eval.cli.make_embedder", factory)
    datasets = tmp_path / "sets"
    for name in ("one", "two", "three"):
        shutil.copytree(EVAL_MINI, datasets / name)
    english = {"id": "reset-password", "title": "Reset your password", "body": "Open settings, then reset password."}
    with (datasets / "three" / "articles.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({**english, "lang": "en"}) + "\n")
    with (datasets / "three" / "queries.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"query": "how do I reset my password", "relevant_ids": ["reset-password"]}) + "\n")
    args = ["eval", "holdout", "--datasets", str(datasets), "--cache", str(tmp_path / "cache")]
    first = runner.invoke(main, args, obj=eval_settings)
    assert first.exit_code == 0, first.output
    for name in ("one", "two", "three"):
        assert f"| {name} |" in first.output
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3
    documents_embedded = sum(len(e.embedded) for e in made)
    second = runner.invoke(main, args, obj=eval_settings)
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    # the second run reads the cached signals: no index is built
    assert sum(len(e.embedded) for e in made) == documents_embedded


def test_holdout_command_needs_two_sets(tmp_path, runner, eval_settings, monkeypatch):
    monkeypatch.setattr("eval.cli.make_embedder", lambda settings, threads=None: FakeEnsemble())
    shutil.copytree(EVAL_MINI, tmp_path / "sets" / "only")
    args = ["eval", "holdout", "--datasets", str(tmp_path / "sets"), "--cache", str(tmp_path / "cache")]
    result = runner.invoke(main, args, obj=eval_settings)
    assert result.exit_code == 1 and "at least two sets" in result.output


@pytest.mark.parametrize("mix", ["weighted", "standardized", "confidence"])
def test_offline_mix_matches_the_scorer_on_one_chunk_articles(mix):
    # Offline tuning must score what search ships: one chunk per article, all English.
    rng = np.random.default_rng(3)
    use, st = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    vectors = np.hstack(
        [use / np.linalg.norm(use, axis=1, keepdims=True), st / np.linalg.norm(st, axis=1, keepdims=True)]
    )
    vectors = vectors.astype(np.float32)
    query = vectors[0] + np.float32(0.3) * vectors[1]
    scorer = EnsembleScorer(DenseIndex.build(vectors, 100), vectors, 4, 0.35, 1.0, mix)
    rows = np.arange(6, dtype=np.int64)
    same = np.ones(6, bool)
    live = scorer.scores(query, "en", rows, rows, same)
    cu, cm = scorer.parts(query, "en", rows)
    f = _features(use=[cu], st=[cm], relevant=[[True] + [False] * 5], english=[True])
    np.testing.assert_allclose(holdout.dense_scores(f, mix, 0.35)[0], live, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mix", ["weighted", "standardized", "confidence"])
def test_padding_stays_out_of_every_mix(mix):
    f = _features(use=[[0.5, 0.4, -INF]], st=[[0.2, 0.9, NAN]], relevant=[[False, True, False]], english=[True])
    dense = holdout.dense_scores(f, mix, 0.0)
    assert dense[0, 2] == -INF and np.isfinite(dense[0, :2]).all()
