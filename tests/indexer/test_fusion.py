"""Hybrid fusion as pure functions: the gap-adaptive BM25 weight, the language gate, the fused score."""

import numpy as np
import pytest

from indexer.fusion import (
    MIN_GAP,
    FusionParams,
    article_dense,
    fuse,
    gap_weight,
    keep_language_level,
    language_gate,
    lexical_weight,
    onto_range,
    onto_scale,
)

F32 = np.float32


def test_gap_weight_divides_by_the_gap_between_the_best_and_the_tenth_article():
    dense = np.array([0.9, 0.2, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.4], F32)  # 10th best: 0.4 (0.2 is 11th)
    assert gap_weight(dense, 0.03, 1.0) == pytest.approx(0.03 / 0.5, rel=1e-5)


def test_gap_weight_uses_the_last_article_when_fewer_than_ten():
    assert gap_weight(np.array([0.5, 0.9, 0.7], F32), 0.02, 1.0) == pytest.approx(0.02 / 0.4, rel=1e-5)


def test_gap_weight_is_capped_for_a_flat_ranking_and_for_no_article():
    assert gap_weight(np.array([0.6, 0.6, 0.6], F32), 0.03, 1.0) == 1.0
    assert gap_weight(np.array([0.6, 0.59], F32), 0.03, 5.0) == pytest.approx(3.0, rel=1e-4)
    assert gap_weight(np.zeros(0, F32), 0.03, 2.0) == min(0.03 / MIN_GAP, 2.0)


@pytest.mark.parametrize(
    ("same", "expected"),
    [([True] * 10, 1.0), ([True] * 9 + [False], 1.0), ([True] * 8 + [False] * 2, 0.0), ([], 1.0), ([False], 0.0)],
)
def test_language_gate_opens_at_nine_in_ten(same, expected):
    assert language_gate(np.array(same, dtype=bool)) == expected


def test_lexical_weight_picks_the_base_by_language_and_gates_on_the_dense_top_ten():
    dense = np.linspace(1.0, 0.0, 12).astype(F32)  # already best first; gap = 1 - 10th
    gap = float(dense[0] - dense[9])
    params = FusionParams(lexical_weight=0.03, lexical_weight_en=0.02, lexical_cap=1.0)
    outside_top = np.array([True] * 10 + [False] * 2)  # other-language articles below the top 10 do not count
    assert lexical_weight(dense, outside_top, "zh", params) == pytest.approx(0.03 / gap)
    assert lexical_weight(dense, outside_top, "en", params) == pytest.approx(0.02 / gap)
    inside_top = np.array([False, True, True, False] + [True] * 8)
    assert lexical_weight(dense, inside_top, "zh", params) == 0.0


def test_fuse_scales_bm25_by_the_best_score_and_leaves_dense_alone_without_bm25():
    dense, lexical = np.array([0.5, 0.4], F32), np.array([2.0, 4.0], F32)
    np.testing.assert_allclose(fuse(dense, lexical, 0.5, 4.0), [0.75, 0.9], rtol=1e-6)
    np.testing.assert_array_equal(fuse(dense, np.zeros(2, F32), 0.5, 0.0), dense)


def test_article_dense_blends_the_best_chunk_with_the_mean_unless_told_best():
    best, mean = np.array([0.8, 0.6], np.float32), np.array([0.4, 0.6], np.float32)
    # The broad article (one good chunk of many) falls behind the focused one.
    np.testing.assert_allclose(article_dense(best, mean, "blend"), [0.6, 0.6])
    assert article_dense(best, mean, "best") is best


def test_onto_scale_maps_mean_and_spread_and_keeps_the_order():
    scores = np.array([1.0, 2.0, 3.0], np.float32)
    mapped = onto_scale(scores, np.array([0.2, 0.4, 0.6], np.float32))(scores)
    assert mapped.tolist() == pytest.approx([0.2, 0.4, 0.6])
    flat = np.array([0.5, 0.5], np.float32)
    assert onto_scale(flat, np.array([0.1, 0.3], np.float32))(flat).tolist() == pytest.approx([0.2, 0.2])


def test_bm25_reorders_the_query_language_but_does_not_lift_it_over_the_other():
    dense = np.array([0.50, 0.40, 0.30, 0.46], np.float32)  # the last article is in the other language
    same = np.array([True, True, True, False])
    fused = fuse(dense, np.array([0.0, 1.0, 0.5, 0.0], np.float32), 0.3, 1.0)  # BM25 favours the second
    kept = keep_language_level(fused, dense, same)
    assert kept[3] == fused[3] == pytest.approx(0.46)
    assert np.argsort(-kept[same]).tolist() == np.argsort(-fused[same]).tolist() == [1, 0, 2]
    assert kept[same].max() == pytest.approx(dense[same].max())
    assert kept[same].min() == pytest.approx(dense[same].min())
    # Without the map the whole query-language group is lifted: two of its articles pass the other one.
    assert (fused[same] > fused[3]).sum() == 2 and (kept[same] > kept[3]).sum() == 1


def test_a_bm25_led_first_article_stands_no_higher_than_its_languages_best_dense_score():
    # Thirty query-language candidates on a flat dense ranking and one in the other language
    # (0.30); BM25 at full weight picks the sixth. Mapped onto mean and spread, that outlier of
    # the fused scores rose far above every dense score of its language and over the other
    # language's article; mapped onto the range, it takes its language's best dense score.
    dense = np.append(np.linspace(0.27, 0.05, 30), 0.30).astype(np.float32)
    same = np.arange(31) < 30
    lexical = np.zeros(31, np.float32)
    lexical[5] = 1.0
    fused = fuse(dense, lexical, 1.0, 1.0)
    assert onto_scale(fused[same], dense[same])(fused[same])[5] > 0.4
    kept = keep_language_level(fused, dense, same)
    assert kept[5] == pytest.approx(0.27) and int(np.argmax(kept)) == 30
    assert int(np.argmax(kept[same])) == 5


def test_onto_range_maps_best_and_worst_and_keeps_the_order():
    scores = np.array([1.0, 3.0, 2.0], np.float32)
    assert onto_range(scores, np.array([0.2, 0.6, 0.3], np.float32)).tolist() == pytest.approx([0.2, 0.6, 0.4])
    flat = np.array([0.5, 0.5], np.float32)
    assert onto_range(flat, np.array([0.1, 0.3], np.float32)).tolist() == pytest.approx([0.3, 0.3])


def test_keep_language_level_leaves_one_language_and_too_few_articles_alone():
    dense = np.array([0.5, 0.4, 0.3, 0.2], np.float32)
    fused = fuse(dense, np.array([0.0, 1.0, 0.5, 0.0], np.float32), 0.3, 1.0)
    assert keep_language_level(fused, dense, np.ones(4, np.bool_)) is fused
    assert keep_language_level(fused, dense, np.array([True, True, False, False])) is fused
