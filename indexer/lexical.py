"""BM25 over analyzer terms (bm25s), one document per chunk."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)


class LexicalIndex:
    """A bm25s index whose document i is chunk i of the build."""

    def __init__(self, bm25: bm25s.BM25, n_docs: int) -> None:
        self._bm25 = bm25
        self.n_docs = n_docs
        self._vocab: dict[str, int] = bm25.vocab_dict or {}

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index pre-tokenised documents."""
        bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        docs = [list(t) if t else ["\u2205"] for t in token_lists]
        bm25.index(docs, show_progress=False)
        return cls(bm25, len(docs))

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n_docs: int) -> LexicalIndex:
        """Read an index written by :meth:`save`."""
        return cls(bm25s.BM25.load(str(folder), mmap=False), n_docs)

    def scores(self, tokens: Sequence[str]) -> NDArray[np.float32]:
        """BM25 score of every document for the query terms (unknown terms ignored)."""
        known = [t for t in tokens if t in self._vocab]
        if not known or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def term_idf(self, tokens: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Vocabulary id (-1 when unknown) and Lucene IDF of each token.

        ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``, the weight bm25s gives a term; an
        unknown token gets the IDF of a term in no document, the largest there is.
        """
        ids = np.array([self._vocab.get(t, -1) for t in tokens], dtype=np.int64)
        indptr = self._bm25.scores["indptr"]
        known = ids >= 0
        df = np.zeros(len(ids), dtype=np.float64)
        df[known] = indptr[ids[known] + 1] - indptr[ids[known]]
        return ids, np.log1p((self.n_docs - df + 0.5) / (df + 0.5))

    def vocabulary(self) -> dict[str, int]:
        """Every indexed term with the number of documents (chunks) it occurs in."""
        df = np.diff(self._bm25.scores["indptr"])
        return {term: int(df[i]) for term, i in self._vocab.items() if i < len(df)}

    def postings(self, term: str) -> NDArray[np.int64]:
        """Ids of the documents (chunks) ``term`` occurs in; empty for an unknown term."""
        i = self._vocab.get(term)
        indptr = self._bm25.scores["indptr"]
        if i is None or i + 1 >= len(indptr):
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self._bm25.scores["indices"][indptr[i] : indptr[i + 1]], dtype=np.int64)

    @cached_property
    def _by_doc(self) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
        """The score matrix transposed: term ids grouped by document, and each document's start."""
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        terms = np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))
        order = np.argsort(indices, kind="stable")
        starts = np.zeros(self.n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(indices, minlength=self.n_docs)[: self.n_docs], out=starts[1:])
        return terms[order], starts

    def doc_terms(self, docs: NDArray[np.int64]) -> NDArray[np.int32]:
        """Vocabulary ids of the terms occurring in ``docs`` (chunk ids; repeats possible).

        The first call transposes the score matrix (one sort of its entries) and keeps it.
        """
        terms, starts = self._by_doc
        if not len(docs):
            return np.zeros(0, dtype=np.int32)
        return np.concatenate([terms[starts[d] : starts[d + 1]] for d in docs.tolist()])
