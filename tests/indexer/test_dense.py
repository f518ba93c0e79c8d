"""Dense scoring strategies on hand-made vectors: plain cosine and the USE + English-model ensemble."""

import numpy as np
import pytest

from indexer.dense import CosineScorer, EnsembleScorer
from indexer.store import DenseIndex

SPLIT = 2  # [use_0, use_1 | st_0, st_1]


def _unit(*xs):
    v = np.array(xs, np.float32)
    return v / np.linalg.norm(v)


def _ensemble(vectors, use_weight=0.5, st_weight=1.0):
    vectors = np.array(vectors, np.float32)
    return EnsembleScorer(DenseIndex.build(vectors, 100), vectors, SPLIT, use_weight, st_weight)


def test_cosine_scorer_finds_and_scores_by_inner_product():
    vectors = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(1, 1, 0)])
    scorer = CosineScorer(DenseIndex.build(vectors, 100), vectors)
    q = _unit(1, 0.2, 0)
    assert set(scorer.candidates(q, "en", None, 2).tolist()) == {0, 2}
    rows = np.array([0, 1, 2], np.int64)
    np.testing.assert_allclose(scorer.scores(q, "en", rows, rows, np.ones(3, bool)), vectors @ q, rtol=1e-6)
    assert scorer.candidates(q, "en", np.array([1], np.int64), 2).tolist()[0] == 1


def test_chinese_queries_score_by_use_alone():
    scorer = _ensemble([[0.6, 0.8, 0.0, 0.0], [0.8, 0.6, 0.0, 0.0]])
    q = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    rows = np.array([0, 1], np.int64)
    np.testing.assert_allclose(scorer.scores(q, "zh", rows, rows, np.ones(2, bool)), [0.6, 0.8], rtol=1e-6)


def test_english_queries_mix_both_models_on_english_passages_only():
    # passage 0 is English (both parts), passage 1 Chinese (no English part)
    scorer = _ensemble([[0.6, 0.0, 0.8, 0.0], [0.5, 0.0, 0.0, 0.0]], use_weight=0.5, st_weight=1.0)
    q = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    rows = np.array([0, 1], np.int64)
    same_lang = np.array([True, True])
    got = scorer.scores(q, "en", rows, rows, same_lang)
    assert got[0] == pytest.approx((0.5 * 0.6 + 1.0 * 0.8) / 1.5)
    assert got[1] == pytest.approx(0.5)  # no English part: USE alone


def test_english_model_weight_follows_the_share_of_query_language_articles():
    scorer = _ensemble([[0.6, 0.0, 0.8, 0.0], [0.5, 0.0, 0.0, 0.0]], use_weight=0.5, st_weight=1.0)
    q = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    rows = np.array([0, 1], np.int64)
    half = scorer.scores(q, "en", rows, rows, np.array([True, False]))
    assert half[0] == pytest.approx((0.5 * 0.6 + 0.5 * 0.8) / 1.0)
    none = scorer.scores(q, "en", rows, rows, np.array([False, False]))
    assert none[0] == pytest.approx(0.6)


def test_english_queries_add_candidates_found_by_the_weighted_mix():
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    scorer = _ensemble(vectors)
    q = np.array([0.7, 0.0, 0.7, 0.0], np.float32)
    assert set(scorer.candidates(q, "zh", None, 1).tolist()) == {0}
    assert set(scorer.candidates(q, "en", None, 1).tolist()) == {0, 1}


def test_english_passages_are_put_on_the_use_scale_when_the_candidates_mix_languages():
    # three English articles whose English-model cosines run high, one Chinese article (USE only)
    vectors = [
        [0.30, 0.0, 0.90, 0.0],
        [0.20, 0.0, 0.80, 0.0],
        [0.10, 0.0, 0.70, 0.0],
        [0.35, 0.0, 0.00, 0.0],
    ]
    scorer = _ensemble(vectors, use_weight=0.5, st_weight=1.0)
    q = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    rows = np.arange(4, dtype=np.int64)
    same_lang = np.array([True, True, True, False])
    got = scorer.scores(q, "en", rows, rows, same_lang)
    # the English scores keep their order, take USE's mean and spread (0.30, 0.20, 0.10), and the Chinese
    # article's USE cosine (0.35) now ranks first instead of last
    np.testing.assert_allclose(got, [0.30, 0.20, 0.10, 0.35], atol=1e-6)


def test_scores_are_unchanged_when_every_candidate_is_in_the_query_language():
    vectors = [[0.30, 0.0, 0.90, 0.0], [0.20, 0.0, 0.80, 0.0], [0.10, 0.0, 0.70, 0.0]]
    scorer = _ensemble(vectors, use_weight=0.5, st_weight=1.0)
    q = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    rows = np.arange(3, dtype=np.int64)
    got = scorer.scores(q, "en", rows, rows, np.ones(3, bool))
    np.testing.assert_allclose(got, [(0.5 * u + e) / 1.5 for u, e in [(0.3, 0.9), (0.2, 0.8), (0.1, 0.7)]], atol=1e-6)


def test_candidates_of_several_queries_at_once_are_each_querys_own():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 4)).astype(np.float32)
    vectors[20:, SPLIT:] = 0  # half the passages have no English part
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = [_unit(*rng.normal(size=4)) for _ in range(5)]
    langs = ["zh", "en", "en", "zh", "en"]
    allowed = np.arange(0, 40, 3, dtype=np.int64)
    for scorer in (_ensemble(vectors), CosineScorer(DenseIndex.build(vectors, 100), vectors)):
        for mask in (None, allowed):
            together = scorer.candidates_many(queries, langs, mask, 6)
            alone = [scorer.candidates(q, lang, mask, 6) for q, lang in zip(queries, langs, strict=True)]
            assert [ids.tolist() for ids in together] == [ids.tolist() for ids in alone]
    # an English query searches a second row (the weighted mix): its entry holds both
    assert [len(ids) for ids in _ensemble(vectors).candidates_many(queries, langs, None, 6)] == [6, 12, 12, 6, 12]
