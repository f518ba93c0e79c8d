"""The language offset of other-language articles without a counterpart (indexer/crosslingual.py)."""

import numpy as np
import pytest

from indexer.crosslingual import (
    LanguageBridge,
    article_cards,
    bridged_languages,
    card_text,
    multilingual_model,
    multilingual_part,
)

CHUNKS = 10  # per article: two languages of at least 20 passages each


def _build(topics: list[tuple[str, int]], seed: int = 0):
    """Unit vectors per passage: the article's topic axis, noise, and a shared axis per language."""
    rng = np.random.default_rng(seed)
    axis = {"zh": 14, "en": 15}
    rows, owner = [], []
    for article, (lang, topic) in enumerate(topics):
        for _ in range(CHUNKS):
            v = rng.normal(0, 0.05, 16)
            v[topic] += 1.0
            v[axis[lang]] += 0.6  # the model's liking for text in the same language
            rows.append(v / np.linalg.norm(v))
            owner.append(article)
    langs = np.array([lang for lang, _ in topics])
    return np.array(rows, np.float32), np.array(owner, np.int64), langs


# zh 0–2 on topics 0–2; en 3 is the twin of zh 0 (topic 0); en 4 is written only in English (topic 5).
TOPICS = [("zh", 0), ("zh", 1), ("zh", 2), ("en", 0), ("en", 5)]


def test_articles_without_a_counterpart_in_the_other_language_are_alone():
    bridge = LanguageBridge.of(*_build(TOPICS))
    assert bridge.alone.tolist() == [False, True, True, False, True]


def test_the_offset_is_the_models_preference_for_the_same_language():
    bridge = LanguageBridge.of(*_build([("zh", 0), ("zh", 1), ("zh", 2), ("en", 3), ("en", 4)]))
    # No topic is shared, so passages of other articles are alike only through the language axis:
    # 0.6² / (1 + 0.6²) = 0.26 within a language, 0 across.
    assert bridge.offsets["zh"] == pytest.approx(0.26, abs=0.03)
    assert bridge.offsets["en"] == pytest.approx(0.26, abs=0.03)


def test_only_other_language_articles_without_a_counterpart_gain_the_offset():
    bridge = LanguageBridge.of(*_build(TOPICS))
    arts = np.array([0, 1, 3, 4])
    shift = bridge.shift("zh", arts)
    assert shift is not None
    assert shift.tolist() == pytest.approx([0.0, 0.0, 0.0, bridge.offsets["zh"]])
    english_query = bridge.shift("en", arts)
    assert english_query is not None
    assert english_query.tolist() == pytest.approx([0.0, bridge.offsets["en"], 0.0, 0.0])
    assert bridge.shift("zh", np.array([0, 3])) is None  # nothing alone in the other language


def test_a_kb_in_one_language_is_left_as_it_is():
    vectors, owner, _ = _build(TOPICS)
    bridge = LanguageBridge.of(vectors, owner, np.array(["zh"] * len(TOPICS)))
    assert bridge.offsets == {} and not bridge.alone.any()
    assert bridge.shift("en", np.arange(len(TOPICS))) is None


def test_too_few_passages_in_the_second_language_give_no_offset():
    vectors, owner, langs = _build([("zh", 0), ("zh", 1), ("zh", 2), ("en", 5)])  # 10 English passages
    assert LanguageBridge.of(vectors, owner, langs).offsets == {}


class _Embedder:
    def __init__(self, backend: str, split: int | None = None) -> None:
        self.backend = backend
        self.embedded: list[str] = []
        if split is not None:
            self.split = split

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return np.eye(len(texts), 16, dtype=np.float32)


def test_the_multilingual_part_of_each_backend():
    vectors = np.ones((3, 6), np.float32)
    assert multilingual_part(_Embedder("use-multilingual"), vectors) is vectors
    ensemble = multilingual_part(_Embedder("ensemble", split=4), vectors)
    assert ensemble is not None and ensemble.shape == (3, 4)
    assert multilingual_part(_Embedder("sentence-transformers"), vectors) is None
    assert (
        LanguageBridge.of(None, np.zeros(3, np.int64), np.array(["zh", "en", "en"])).shift("zh", np.arange(3)) is None
    )


def test_the_multilingual_model_of_each_backend():
    use = _Embedder("use-multilingual")
    assert multilingual_model(use) is use
    ensemble = _Embedder("ensemble", split=4)
    ensemble.use = use  # type: ignore[attr-defined]
    assert multilingual_model(ensemble) is use
    assert multilingual_model(_Embedder("sentence-transformers")) is None


def test_a_card_is_the_title_then_the_tags():
    assert card_text({"title": "退货运费谁出", "tags": ["退货", "运费险"]}) == "退货运费谁出 退货 运费险"
    assert card_text({"title": "Return shipping"}) == "Return shipping"


def test_cards_are_embedded_for_a_bilingual_build_only():
    metas = [{"title": f"t{i}", "tags": ["x"]} for i in range(len(TOPICS))]
    use = _Embedder("use-multilingual")
    bridge = LanguageBridge.of(*_build(TOPICS)).with_cards(use, metas)
    assert bridge.cards is not None and bridge.cards.shape == (len(TOPICS), 16)
    assert use.embedded == [f"t{i} x" for i in range(len(TOPICS))]
    vectors, owner, _ = _build(TOPICS)
    one_language = LanguageBridge.of(vectors, owner, np.array(["zh"] * len(TOPICS)))
    assert one_language.with_cards(use, metas).cards is None
    assert LanguageBridge.of(*_build(TOPICS)).with_cards(_Embedder("sentence-transformers"), metas).cards is None


def _carded(cards: np.ndarray) -> LanguageBridge:
    return LanguageBridge(np.zeros(len(cards), np.bool_), np.array(["zh"] * len(cards)), {"zh": 0.0}, cards)


def test_the_card_reorders_the_other_language_on_its_own_scale():
    # Articles 0–1 in the query's language, 2–5 in the other; the query is the unit vector on axis 0.
    cards = np.zeros((6, 4), np.float32)
    cards[5, 0] = 1.0  # the last article's card is the query; its passages score lowest of its language
    query = np.array([1.0, 0.0, 0.0, 0.0, 9.0], np.float32)  # a wider query: the card compares the leading part
    arts = np.arange(6)
    same = np.array([True, True, False, False, False, False])
    scores = np.array([0.6, 0.5, 0.40, 0.35, 0.30, 0.28], np.float32)
    shift = _carded(cards).card_shift(query, arts, same, scores)
    assert shift is not None
    assert shift[:2].tolist() == [0.0, 0.0]
    moved = scores + shift
    assert int(np.argmax(moved[2:])) == 3  # first of its language now
    assert moved[2:].mean() == pytest.approx(scores[2:].mean())
    assert moved[2:].std() == pytest.approx(scores[2:].std())


def test_no_card_shift_without_cards_or_with_too_few_other_language_candidates():
    scores = np.array([0.6, 0.5, 0.4], np.float32)
    query = np.ones(4, np.float32)
    assert LanguageBridge.none(3).card_shift(query, np.arange(3), np.array([True, False, False]), scores) is None
    cards = np.ones((3, 4), np.float32)
    assert _carded(cards).card_shift(query, np.arange(3), np.array([True, False, False]), scores) is None


def test_stored_cards_are_used_rather_than_embedded_again():
    metas = [{"title": f"t{i}"} for i in range(len(TOPICS))]
    use = _Embedder("use-multilingual")
    stored = np.ones((len(TOPICS), 16), np.float32)
    bridge = LanguageBridge.of(*_build(TOPICS)).with_cards(use, metas, stored)
    assert bridge.cards is stored and use.embedded == []


def test_bridged_languages_need_enough_passages_in_each():
    assert bridged_languages(np.array(["zh"] * 30 + ["en"] * 20 + [""] * 50)) == ("zh", "en")
    assert bridged_languages(np.array(["zh"] * 30 + ["en"] * 19)) is None
    assert bridged_languages(np.array(["zh"] * 30)) is None


def test_article_cards_need_a_multilingual_model():
    use = _Embedder("use-multilingual")
    cards = article_cards(use, [{"title": "a", "tags": ["b"]}, {"title": "c"}])
    assert cards is not None and cards.shape == (2, 16) and use.embedded == ["a b", "c"]
    assert article_cards(_Embedder("sentence-transformers"), [{"title": "a"}]) is None


def test_each_article_with_a_counterpart_knows_its_twin():
    bridge = LanguageBridge.of(*_build(TOPICS))
    assert bridge.twins is not None
    assert bridge.twins.tolist() == [3, -1, -1, 0, -1]


def test_an_other_language_twin_takes_its_counterparts_bm25_score():
    bridge = LanguageBridge.of(*_build(TOPICS))
    bm25 = np.array([4.0, 2.0, 1.0, 0.0, 0.0], np.float32)  # per article: BM25 reads Chinese only

    def best(arts):
        return bm25[arts]

    arts = np.array([0, 1, 3, 4])  # zh 0 and its English twin 3, zh 1, English-only 4
    same = np.array([True, True, False, False])
    result = bridge.twin_lexical("zh", arts, same, bm25[arts], best)
    assert result is not None
    lexical, scorable = result
    assert lexical.tolist() == [4.0, 2.0, 4.0, 0.0]  # the twin rises with zh 0; the English-only article cannot
    assert scorable.tolist() == [True, True, True, False]
    # An English query: BM25 scores the English articles, and zh 0 takes the score of its twin 3.
    english = np.array([0.0, 0.0, 0.0, 3.0, 5.0], np.float32)
    result = bridge.twin_lexical("en", arts, ~same, english[arts], lambda a: english[a])
    assert result is not None and result[0].tolist() == [3.0, 0.0, 3.0, 5.0]


def test_no_twin_scores_without_an_other_language_twin_among_the_candidates():
    bridge = LanguageBridge.of(*_build(TOPICS))
    scores = np.ones(3, np.float32)
    assert bridge.twin_lexical("zh", np.array([0, 1, 4]), np.array([True, True, False]), scores, lambda a: a) is None
    assert LanguageBridge.none(5).twin_lexical("zh", np.arange(3), np.array([True, False, False]), scores, len) is None
