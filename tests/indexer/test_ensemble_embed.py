"""EnsembleEmbedder: an English query's two models run at once, and each part lands in its own columns."""

import multiprocessing
import threading

import numpy as np

from indexer.embed import EnsembleEmbedder
from tests.conftest import FakeEmbedder


class ThreadRecording(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.calls: list[str] = []

    def embed_queries(self, texts):
        self.threads.append(threading.current_thread().name)
        self.calls.append("queries")
        return super().embed_queries(texts)

    def embed_documents(self, texts):
        self.threads.append(threading.current_thread().name)
        self.calls.append("documents")
        return super().embed_documents(texts)


def test_a_lone_english_query_runs_the_english_model_on_a_second_thread():
    use, st = ThreadRecording(), ThreadRecording()
    ensemble = EnsembleEmbedder(use, st)  # type: ignore[arg-type]
    vector = ensemble.embed_queries(["how long does a refund take"])
    np.testing.assert_array_equal(vector[:, : use.dim], FakeEmbedder().embed_queries(["how long does a refund take"]))
    np.testing.assert_array_equal(vector[:, use.dim :], FakeEmbedder().embed_queries(["how long does a refund take"]))
    assert use.threads == [threading.current_thread().name] and st.threads[0].startswith("english-model")


def test_a_batch_runs_both_models_on_the_calling_thread_and_keeps_their_columns():
    use, st = ThreadRecording(), ThreadRecording()
    ensemble = EnsembleEmbedder(use, st)  # type: ignore[arg-type]
    texts = ["退款多久到账", "how long does a refund take", "发票怎么开", "cancel my order"]
    vectors = ensemble.embed_queries(texts)
    split = use.dim
    np.testing.assert_array_equal(vectors[:, :split], FakeEmbedder().embed_queries(texts))
    np.testing.assert_array_equal(vectors[[1, 3], split:], FakeEmbedder().embed_queries([texts[1], texts[3]]))
    assert not vectors[[0, 2], split:].any()
    assert use.threads == st.threads == [threading.current_thread().name]
    assert use.calls == st.calls == ["queries"]  # a batch of queries is embedded as queries by both models


def test_chinese_queries_and_passages_stay_on_the_calling_thread():
    use, st = ThreadRecording(), ThreadRecording()
    ensemble = EnsembleEmbedder(use, st)  # type: ignore[arg-type]
    ensemble.embed_queries(["退款多久到账"])
    ensemble.embed_documents(["退款多久到账", "refunds take three days"])
    here = threading.current_thread().name
    assert use.threads == [here, here] and st.threads == [here]
    assert use.calls == ["queries", "documents"] and st.calls == ["documents"]


def test_a_process_forked_after_an_english_query_embeds_english_queries_too():
    """The child inherits the executor without its thread; it must not wait on it forever."""
    ensemble = EnsembleEmbedder(FakeEmbedder(), FakeEmbedder())  # type: ignore[arg-type]
    ensemble.embed_queries(["how long does a refund take"])
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=lambda: results.put(ensemble.embed_queries(["cancel my order"]).shape))
    child.start()
    child.join(30)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and results.get(timeout=5) == (1, ensemble.dim)
