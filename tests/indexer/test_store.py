import faiss
import numpy as np
import pytest

from indexer.store import DenseIndex


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_small_index_is_exact_and_large_is_hnsw(tmp_path):
    vectors = _unit(300, 16)
    flat = DenseIndex.build(vectors, exact_max=1000)
    hnsw = DenseIndex.build(vectors, exact_max=100)
    assert (flat.kind, hnsw.kind) == ("flat", "hnsw")
    hnsw.save(tmp_path / "h.faiss")
    loaded = DenseIndex.load(tmp_path / "h.faiss")
    assert loaded.kind == "hnsw" and loaded.ntotal == 300
    _, ids = loaded.search(vectors[:5], 1)
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]


def test_allow_list_applies_before_the_top_k_cut():
    vectors = _unit(200, 8, seed=1)
    allowed = np.arange(100, 200, dtype=np.int64)
    for index in (DenseIndex.build(vectors, 1000), DenseIndex.build(vectors, 50)):
        _, ids = index.search(vectors[:1], 10, allowed)
        assert len(ids[0]) == 10 and all(100 <= i < 200 for i in ids[0])


def test_flat_index_filled_in_blocks_is_the_one_faiss_builds(tmp_path):
    vectors = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    index = DenseIndex.create(50, 8, exact_max=100)
    for start in range(0, 50, 16):
        index.add(vectors[start : start + 16])
    reference = faiss.IndexFlatIP(8)
    reference.add(vectors)
    assert index.ntotal == 50 and np.array_equal(faiss.serialize_index(index.index), faiss.serialize_index(reference))
    with pytest.raises(ValueError, match="sized for 50"):
        index.add(vectors[:1])
    partial = DenseIndex.create(50, 8, exact_max=100)
    partial.add(vectors[:10])
    with pytest.raises(ValueError, match="holds 10"):
        partial.save(tmp_path / "partial.faiss")


class _NoSearch:
    def __init__(self, ntotal: int) -> None:
        self.ntotal = ntotal

    def search(self, *args, **kwargs):
        raise AssertionError("FAISS searched")


@pytest.mark.parametrize("loaded", [False, True])
@pytest.mark.parametrize("queries", [1, 3, 8])
def test_exact_search_of_a_few_queries_returns_what_faiss_returns(tmp_path, loaded, queries):
    vectors = _unit(500, 24, seed=3)
    vectors[:, 16:][::2] = 0  # half the chunks have no second part, like Chinese chunks in the ensemble
    index = DenseIndex.build(vectors, exact_max=1000)
    if loaded:
        index.save(tmp_path / "f.faiss")
        index = DenseIndex.load(tmp_path / "f.faiss")
    reference = faiss.IndexFlatIP(24)
    reference.add(vectors)
    held = index.index  # keeps the vectors alive: the exact search reads FAISS's own storage
    index.index = _NoSearch(held.ntotal)  # the few queries never reach FAISS
    query = _unit(queries, 24, seed=4)
    query[: queries // 2 + 1, 16:] = 0  # a zero tail, as an ensemble's Chinese query has
    allowed = np.arange(0, 500, 3, dtype=np.int64)
    for k, allow in ((10, None), (10, allowed), (600, None), (200, allowed)):
        selector = None if allow is None else faiss.IDSelectorBatch(allow)
        params = None if selector is None else faiss.SearchParameters(sel=selector)
        want_scores, want_ids = reference.search(query, min(k, 500), params=params)
        scores, ids = index.search(query, k, allow)
        assert ids.shape == (queries, min(k, 500))
        np.testing.assert_array_equal(ids, want_ids)
        found = want_ids >= 0
        np.testing.assert_allclose(scores[found], want_scores[found], rtol=1e-5, atol=1e-6)
        assert (scores[~found] == want_scores[~found]).all()
