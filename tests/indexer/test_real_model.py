"""The real default model (multilingual USE) on the tiny KB: not only fakes."""

import numpy as np
import pytest

from indexer.build import BuildOptions, build_index
from indexer.embed import UseEmbedder, create_embedder
from indexer.search import Retriever
from indexer.versions import current_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def use_embedder() -> UseEmbedder:
    return UseEmbedder(threads=1)


def test_use_vectors_are_normalised_and_multilingual(use_embedder):
    vectors = use_embedder.embed_queries(["退款多久到账", "when will my refund arrive", "密码忘了怎么办"])
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[1] @ vectors[2]


def test_real_model_retrieves_across_languages(kb_dir, tmp_path, use_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, use_embedder, BuildOptions(chunk_size=200))
    retriever = Retriever.load(current_build(root), use_embedder)
    assert retriever.search("我的钱什么时候退回来", k=1, mode="dense").hits[0].article_id == "refund-arrival"
    assert retriever.search("cancel my order please", k=1).hits[0].article_id == "en-order-cancel"
    assert retriever.search("how long until my refund reaches my bank card", k=1, mode="dense").hits[0].article_id == (
        "refund-arrival"
    )


def test_sentence_transformers_backend_loads_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    embedder = create_embedder("sentence-transformers")
    vectors = embedder.embed_queries(["reset my password"])
    assert vectors.shape == (1, 384)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_real_model_flags_off_topic_queries_as_unanswerable(kb_dir, tmp_path, use_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, use_embedder, BuildOptions(chunk_size=200))
    retriever = Retriever.load(current_build(root), use_embedder)
    on_topic = [retriever.search(q) for q in ("退款多久到账", "cancel my order please")]
    off_topic = [
        retriever.search(q) for q in ("今天天气怎么样，适合去爬山吗", "what's the weather like in Paris tomorrow")
    ]
    assert all(r.answerable for r in on_topic), [r.confidence for r in on_topic]
    assert not any(r.answerable for r in off_topic), [r.confidence for r in off_topic]
    assert min(r.confidence for r in on_topic) > max(r.confidence for r in off_topic) + 0.3
