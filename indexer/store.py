"""FAISS dense index over chunk vectors; row i of the index is chunk i of the build.

Vectors are L2-normalised, so inner product equals cosine similarity. Small KBs use
exact search (``IndexFlatIP``); past ``exact_max`` vectors an HNSW graph keeps queries
fast at a small recall cost. Filters are applied inside FAISS with an ID selector, so
a filtered search still returns ``k`` allowed chunks.

An exact search of a few queries (what a suggest asks) is one BLAS product over the
vectors FAISS holds, not a FAISS call: FAISS's flat search of a single query goes through
its per-call set-up and its own blocked kernels, and cannot know that the ensemble's
Chinese queries are zero over the English model's columns (384 of 896), which the product
here leaves out. The results are the same chunks and scores up to float rounding
(``tests/indexer/test_store.py`` checks it against FAISS).
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
BLAS_MAX_QUERIES = 8  # past this FAISS's own batched (BLAS) search is as fast
MISSING_SCORE = -np.finfo(np.float32).max  # what FAISS reports beside a missing (-1) id
PREFIX_COPY_BYTES = 32 << 20  # the most a contiguous copy of leading columns may take (per width)


class DenseIndex:
    """A FAISS inner-product index with an optional allow-list per search."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind
        self._slots: NDArray[np.float32] | None = None
        self._prefixes: dict[int, NDArray[np.float32]] = {}

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
    def load(cls, path: Path, mapped: bool = False) -> DenseIndex:
        """Read an index written by :meth:`save`.

        ``mapped`` maps the vectors read-only instead of reading them into memory: what a
        build's check uses, which touches a few of them, so a 100k-chunk build does not hold
        a second copy of its vectors at its end.
        """
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mapped else 0
        index = faiss.read_index(str(path), flags)
        kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        if kind == "hnsw":
            faiss_any.downcast_index(index).hnsw.efSearch = HNSW_EF_SEARCH
        loaded = cls(index, kind)
        if kind == "flat" and index.ntotal:
            # A view of FAISS's own storage (no copy); the index is never added to once loaded.
            flat: Any = faiss_any.downcast_index(index)
            size = int(index.ntotal) * index.d * np.dtype(np.float32).itemsize
            loaded._slots = faiss.rev_swig_ptr(flat.codes.data(), size).view(np.float32).reshape(-1, index.d)
        return loaded

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
        if self._slots is not None and len(queries) <= BLAS_MAX_QUERIES and self.ntotal == len(self._slots):
            return self._exact(np.asarray(queries, dtype=np.float32), k, allowed)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            if self.kind == "hnsw":
                params = faiss_any.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            else:
                params = faiss_any.SearchParameters(sel=selector)
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return scores, ids

    def _columns(self, width: int) -> NDArray[np.float32]:
        """The vectors' first ``width`` columns, contiguous when a copy fits :data:`PREFIX_COPY_BYTES`.

        A product over the leading columns of wider rows reads them strided, at ~1.4× the
        time of the same product over a contiguous copy (one query, 1,509 × 512 here).
        """
        assert self._slots is not None
        if width == self._slots.shape[1]:
            return self._slots
        prefix = self._prefixes.get(width)
        if prefix is None:
            if len(self._slots) * width * self._slots.itemsize > PREFIX_COPY_BYTES:
                return self._slots[:, :width]
            prefix = self._prefixes[width] = np.ascontiguousarray(self._slots[:, :width])
        return prefix

    def _exact(
        self, queries: NDArray[np.float32], k: int, allowed: NDArray[np.int64] | None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """What ``IndexFlatIP.search`` returns, as one product over the columns the queries use."""
        assert self._slots is not None
        used = np.flatnonzero(queries.any(axis=0))
        width = int(used[-1]) + 1 if len(used) else 1
        columns = self._columns(width)
        vectors = columns if allowed is None else columns[allowed]
        scores = queries[:, :width] @ vectors.T
        n = scores.shape[1]
        out_scores = np.full((len(queries), k), MISSING_SCORE, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        take = min(k, n)
        if take == 0:
            return out_scores, out_ids
        top = (
            np.argpartition(-scores, take - 1, axis=1)[:, :take]
            if take < n
            else np.tile(np.arange(n), (len(queries), 1))
        )
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        out_scores[:, :take] = np.take_along_axis(top_scores, order, axis=1)
        out_ids[:, :take] = top if allowed is None else allowed[top]
        return out_scores, out_ids
