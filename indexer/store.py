"""FAISS dense index over chunk vectors; row i of the index is chunk i of the build.

Vectors are L2-normalised, so inner product equals cosine similarity. Small KBs use
exact search (``IndexFlatIP``); past ``exact_max`` vectors an HNSW graph keeps queries
fast at a small recall cost. Filters are applied inside FAISS with an ID selector, so
a filtered search still returns ``k`` allowed chunks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

# faiss ships partial type stubs; the SWIG classes used below are missing from them.
faiss_any: Any = faiss

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


class DenseIndex:
    """A FAISS inner-product index with an optional allow-list per search."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: NDArray[np.float32], exact_max: int) -> DenseIndex:
        """Index ``vectors`` (n × d); exact when n ≤ ``exact_max``, HNSW otherwise."""
        n, dim = vectors.shape
        if n <= exact_max:
            index: faiss.Index = faiss.IndexFlatIP(dim)
            kind = "flat"
        else:
            hnsw = faiss_any.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index = hnsw
            kind = "hnsw"
        if n:
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, kind)

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Read an index written by :meth:`save`."""
        index = faiss.read_index(str(path))
        kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        if kind == "hnsw":
            faiss_any.downcast_index(index).hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, kind)

    @property
    def ntotal(self) -> int:
        """Number of vectors."""
        return int(self.index.ntotal)

    def search(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Top-``k`` chunks per query; ids are -1 where fewer than ``k`` exist.

        Args:
            queries: (q × d) normalised query vectors.
            k: how many chunks to return.
            allowed: optional sorted chunk ids the search may return.
        """
        k = max(1, min(k, self.ntotal)) if self.ntotal else 1
        if self.ntotal == 0:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            if self.kind == "hnsw":
                params = faiss_any.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            else:
                params = faiss_any.SearchParameters(sel=selector)
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return scores, ids
