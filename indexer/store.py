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
        self._slots: NDArray[np.float32] | None = None

    @classmethod
    def build(cls, vectors: NDArray[np.float32], exact_max: int) -> DenseIndex:
        """Index ``vectors`` (n × d); exact when n ≤ ``exact_max``, HNSW otherwise."""
        index = cls.create(len(vectors), vectors.shape[1], exact_max)
        index.add(vectors)
        return index

    @classmethod
    def create(cls, n: int, dim: int, exact_max: int) -> DenseIndex:
        """An empty index for ``n`` vectors of dimension ``dim``; fill it with :meth:`add`."""
        if n > exact_max:
            hnsw = faiss_any.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            return cls(hnsw, "hnsw")
        flat = faiss.IndexFlatIP(dim)
        index = cls(flat, "flat")
        if n:
            # Sized once and filled in place: FAISS grows its storage on every add (a re-allocation
            # and a copy of all vectors so far), which cost a rebuild more than writing the vectors.
            size = n * dim * np.dtype(np.float32).itemsize
            flat.codes.resize(size)
            index._slots = faiss.rev_swig_ptr(flat.codes.data(), size).view(np.float32).reshape(n, dim)
        return index

    def add(self, vectors: NDArray[np.float32]) -> None:
        """Append ``vectors`` (the next rows, in chunk order)."""
        if not len(vectors):
            return
        if self._slots is None:
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            return
        start = self.ntotal
        if start + len(vectors) > len(self._slots):
            raise ValueError(f"{start + len(vectors)} vectors added to an index sized for {len(self._slots)}")
        self._slots[start : start + len(vectors)] = vectors
        self.index.ntotal = start + len(vectors)

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        if self._slots is not None and self.ntotal != len(self._slots):
            raise ValueError(f"index sized for {len(self._slots)} vectors holds {self.ntotal}")
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
