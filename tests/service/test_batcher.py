"""SearchBatcher: concurrent searches share one embedding call; errors reach the right requests."""

import asyncio

import numpy as np

from service.batcher import SearchBatcher
from tests.conftest import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed_queries(self, texts):
        self.calls.append(list(texts))
        return super().embed_queries(texts)


class RecordingRetriever:
    """Stands in for Retriever.search: returns what it was given (dense candidates: the query's text)."""

    def __init__(self) -> None:
        self.normalized: list[str] = []
        self.candidate_calls: list[list[str]] = []

    def normalize(self, query):
        self.normalized.append(query)
        return query.replace("tk", "退款")

    def dense_candidates(self, queries):
        self.candidate_calls.append([q[0] for q in queries])
        return [f"ids of {q[0]}" for q in queries]

    def search(self, query, query_vector=None, dense_found=None, **options):
        if query == "boom":
            raise ValueError("bad query")
        assert dense_found in (None, f"ids of {options['normalized']}")
        return query, query_vector, options


def gather(batcher, *queries, retriever=None, **options):
    async def run():
        searched = retriever or RecordingRetriever()
        return await asyncio.gather(*(batcher.search(searched, q, **options) for q in queries), return_exceptions=True)

    return asyncio.run(run())


def test_concurrent_searches_embed_in_one_call_and_get_their_own_vectors():
    embedder = CountingEmbedder()
    sizes = []
    texts = ["退款多久到账", "how do I cancel", "发票怎么开", "运费险"]
    results = gather(SearchBatcher(embedder, on_batch=sizes.append), *texts, k=3, mode="hybrid")
    assert embedder.calls == [texts] and sizes == [4]
    for text, (query, vector, options) in zip(texts, results, strict=True):  # options: without dense_found
        assert query == text and options == {"k": 3, "mode": "hybrid", "normalized": text}
        assert np.array_equal(vector, FakeEmbedder().embed_queries([text])[0])


def test_the_dense_candidates_of_a_batch_are_found_at_once():
    retriever = RecordingRetriever()
    results = gather(SearchBatcher(CountingEmbedder()), "q0", "q1", "q2", retriever=retriever, k=3)
    assert retriever.candidate_calls == [["q0", "q1", "q2"]]
    assert [r[0] for r in results] == ["q0", "q1", "q2"]  # each search got its own entry (the fake checks)
    alone = RecordingRetriever()
    gather(SearchBatcher(CountingEmbedder()), "q0", retriever=alone)
    lexical = RecordingRetriever()
    gather(SearchBatcher(CountingEmbedder()), "q0", "q1", retriever=lexical, mode="lexical")
    assert alone.candidate_calls == [] and lexical.candidate_calls == []  # one query, or none dense: nothing to share


def test_a_failure_to_find_the_batchs_candidates_at_once_leaves_each_search_to_find_its_own(caplog):
    retriever = RecordingRetriever()

    def broken(queries):
        raise RuntimeError("index gone")

    retriever.dense_candidates = broken
    results = gather(SearchBatcher(CountingEmbedder()), "q0", "q1", retriever=retriever)
    assert [r[0] for r in results] == ["q0", "q1"]
    assert "each search finds its own" in caplog.text


def test_lexical_searches_embed_nothing_and_batches_are_capped():
    embedder = CountingEmbedder()
    lexical = gather(SearchBatcher(embedder), "a", "b", mode="lexical")
    assert embedder.calls == [] and [r[1] for r in lexical] == [None, None]
    gather(SearchBatcher(embedder, max_batch=2), "q0", "q1", "q2", "q3", "q4")
    assert embedder.calls == [["q0", "q1"], ["q2", "q3"], ["q4"]]


def test_a_search_error_stays_with_its_request():
    results = gather(SearchBatcher(CountingEmbedder()), "fine", "boom", "also fine")
    assert isinstance(results[1], ValueError)
    assert [r[0] for r in (results[0], results[2])] == ["fine", "also fine"]


def test_an_embedding_error_reaches_every_dense_request_and_the_next_batch_works():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder)
    embedder.embed_queries = lambda texts: (_ for _ in ()).throw(RuntimeError("model crashed"))
    assert all(isinstance(r, RuntimeError) for r in gather(batcher, "a", "b"))
    assert gather(batcher, "c", mode="lexical")[0][0] == "c"
    embedder.embed_queries = FakeEmbedder().embed_queries
    assert gather(batcher, "d")[0][1].shape == (FakeEmbedder.dim,)


def test_a_cancelled_request_is_skipped():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder)

    async def run():
        retriever = RecordingRetriever()
        doomed = asyncio.ensure_future(batcher.search(retriever, "gone"))
        kept = asyncio.ensure_future(batcher.search(retriever, "kept"))
        await asyncio.sleep(0)  # both are waiting for the flush now
        doomed.cancel()
        return await kept

    assert asyncio.run(run())[0] == "kept"
    assert embedder.calls == [["kept"]]


def test_an_embedding_error_does_not_strand_the_lexical_requests_of_the_batch():
    embedder = CountingEmbedder()
    embedder.embed_queries = lambda texts: (_ for _ in ()).throw(RuntimeError("model crashed"))
    batcher = SearchBatcher(embedder)

    async def run():
        retriever = RecordingRetriever()
        dense = batcher.search(retriever, "dense one")
        lexical = batcher.search(retriever, "lexical one", mode="lexical")
        return await asyncio.wait_for(asyncio.gather(dense, lexical, return_exceptions=True), timeout=2)

    failed, served = asyncio.run(run())
    assert isinstance(failed, RuntimeError)
    assert served[0] == "lexical one" and served[1] is None


def test_queries_are_embedded_as_the_retriever_normalizes_them():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder)
    ((query, vector, _),) = gather(batcher, "tk多久到")
    assert embedder.calls == [["退款多久到"]]
    assert np.allclose(vector, embedder.embed_queries(["退款多久到"])[0])


def test_each_query_is_normalized_once_and_search_gets_the_result():
    retriever = RecordingRetriever()
    batcher = SearchBatcher(CountingEmbedder())

    async def run():
        dense = batcher.search(retriever, "tk多久到")
        return await asyncio.gather(dense, batcher.search(retriever, "tk", mode="lexical"))

    dense, lexical = asyncio.run(run())
    assert retriever.normalized == ["tk多久到", "tk"]
    assert dense[2]["normalized"] == "退款多久到" and lexical[2]["normalized"] == "退款"


def test_a_repeated_query_is_served_from_the_cache_without_the_model():
    embedder = CountingEmbedder()
    lookups = []
    batcher = SearchBatcher(embedder, cache_size=8, on_lookup=lambda hits, n: lookups.append((hits, n)))
    first = gather(batcher, "tk多久到", "发票怎么开")
    again = gather(batcher, "退款多久到", "运费险")  # the first is "tk多久到" once normalised
    assert embedder.calls == [["退款多久到", "发票怎么开"], ["运费险"]]
    assert lookups == [(0, 2), (1, 2)]
    assert np.array_equal(first[0][1], again[0][1]) and not again[0][1].flags.writeable


def test_the_same_text_twice_in_one_batch_is_embedded_once():
    embedder = CountingEmbedder()
    results = gather(SearchBatcher(embedder), "运费险", "运费险", "发票")
    assert embedder.calls == [["运费险", "发票"]]
    assert np.array_equal(results[0][1], results[1][1])


def test_the_cache_keeps_only_the_most_recent_queries_and_can_be_off():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder, cache_size=2)
    for q in ("a", "b", "c", "a"):  # "a" was evicted by "c"
        gather(batcher, q)
    assert embedder.calls == [["a"], ["b"], ["c"], ["a"]]
    gather(batcher, "c")
    assert len(embedder.calls) == 4
    off = CountingEmbedder()
    for _ in range(2):
        gather(SearchBatcher(off, cache_size=0), "a")
    assert off.calls == [["a"], ["a"]]


def _busy(batcher: SearchBatcher, requests: int) -> None:
    """As if ``requests`` had been in the route at once a moment ago."""
    contexts = [batcher.admitted() for _ in range(requests)]
    for context in contexts:
        context.__enter__()
    for context in contexts:
        context.__exit__(None, None, None)


def test_a_lone_client_never_lingers():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder, linger=30.0)

    async def run():
        retriever = RecordingRetriever()
        for text in ("a", "b"):
            with batcher.admitted():
                await asyncio.wait_for(batcher.search(retriever, text), 5)

    asyncio.run(run())
    assert embedder.calls == [["a"], ["b"]]


def test_a_batch_waits_for_the_requests_recently_in_the_route_and_runs_once_they_are_there():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder, linger=30.0)
    _busy(batcher, 3)

    async def run():
        retriever = RecordingRetriever()
        first = asyncio.ensure_future(batcher.search(retriever, "a"))
        await asyncio.sleep(0.05)
        assert not first.done() and embedder.calls == []  # waiting for the two others
        later = [batcher.search(retriever, text) for text in ("b", "c")]
        await asyncio.wait_for(asyncio.gather(first, *later), 5)  # not the 30 s linger

    asyncio.run(run())
    assert embedder.calls == [["a", "b", "c"]]


def test_a_batch_whose_expected_requests_do_not_come_runs_after_the_linger():
    embedder = CountingEmbedder()
    batcher = SearchBatcher(embedder, linger=0.05)
    _busy(batcher, 4)

    async def run():
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(batcher.search(RecordingRetriever(), "alone"), 5)
        return loop.time() - started

    waited = asyncio.run(run())
    assert embedder.calls == [["alone"]] and 0.04 <= waited < 5
