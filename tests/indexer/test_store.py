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
