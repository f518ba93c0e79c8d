"""The language offset of other-language articles without a counterpart (indexer/crosslingual.py)."""

import numpy as np
import pytest

from indexer.crosslingual import LanguageBridge, multilingual_part

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
        if split is not None:
            self.split = split


def test_the_multilingual_part_of_each_backend():
    vectors = np.ones((3, 6), np.float32)
    assert multilingual_part(_Embedder("use-multilingual"), vectors) is vectors
    ensemble = multilingual_part(_Embedder("ensemble", split=4), vectors)
    assert ensemble is not None and ensemble.shape == (3, 4)
    assert multilingual_part(_Embedder("sentence-transformers"), vectors) is None
    assert (
        LanguageBridge.of(None, np.zeros(3, np.int64), np.array(["zh", "en", "en"])).shift("zh", np.arange(3)) is None
    )
