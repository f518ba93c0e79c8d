"""BM25 over analyzer terms (bm25s), one document per chunk.

The index is built here from a :class:`indexer.terms.ChunkTerms` with a few array
operations rather than by ``bm25s.BM25.index``: bm25s counts terms chunk by chunk in
Python, which made a one-article publish of a 10k-article KB spend most of its time
rebuilding BM25 over the unchanged chunks. The matrix is the one bm25s builds (same
formula, same dtypes and order of floating-point operations, same CSC layout; a test
compares them), and bm25s still saves, loads and scores it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

from indexer.terms import ChunkTerms

log = logging.getLogger(__name__)

VOCAB = "vocab.index.json"  # the name bm25s.BM25.save gives the vocabulary
# Term pairs scored at a time while building, which bounds the float64 temporaries.
_BLOCK = 1 << 20


class LexicalIndex:
    """A bm25s index whose document i is chunk i of the build."""

    def __init__(self, bm25: bm25s.BM25, n_docs: int) -> None:
        self._bm25 = bm25
        self.n_docs = n_docs
        self._vocab: dict[str, int] = bm25.vocab_dict or {}
        self._terms: ChunkTerms | None = None

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index pre-tokenised documents."""
        return cls.from_terms(ChunkTerms.from_lists(token_lists), k1, b)

    @classmethod
    def from_terms(cls, terms: ChunkTerms, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index the chunks of ``terms`` (Lucene BM25, as ``bm25s.BM25(method="lucene").index`` would).

        The (chunk, term, count) triples are the table's own: nothing is counted or sorted
        but the final (term, chunk) order.

        Per (term, chunk) pair: ``idf(term) * tf / (k1 * (1 - b + b * len / avg_len) + tf)`` with
        ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` in float32, the rest in float64 as
        bm25s computes it, stored as float32 in a matrix sorted by term, then chunk.
        """
        bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        n_docs, n_vocab = terms.n_docs, len(terms.vocab)
        sizes = np.diff(terms.offsets)
        doc_len = np.add.reduceat(terms.counts.astype(np.int64), terms.offsets[:-1]) if n_docs else sizes
        avg_len = doc_len.mean() if n_docs else np.float64(0.0)
        pair_doc = np.repeat(np.arange(n_docs, dtype=np.int32), sizes)
        pair_term = terms.ids
        tf = terms.counts.astype(np.float32)
        df = np.bincount(pair_term, minlength=n_vocab)
        # math.log per distinct document frequency, exactly the scalar bm25s computes per term.
        dfs, df_inverse = np.unique(df, return_inverse=True)
        idf_of_df = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for d in dfs.tolist()], np.float32)
        idf = idf_of_df[df_inverse]
        norm = k1 * ((1 - b) + b * doc_len.astype(np.float64) / avg_len)
        data = np.empty(len(tf), dtype=np.float32)
        for lo in range(0, len(tf), _BLOCK):  # in blocks: the float64 intermediates stay small
            part = slice(lo, lo + _BLOCK)
            tfc = tf[part] / (norm[pair_doc[part]] + tf[part])
            data[part] = idf[pair_term[part]] * tfc
        del tf
        # Pairs come chunk by chunk: a stable sort by term alone gives the (term, chunk) order,
        # and for term ids that fit 16 bits numpy sorts them by radix.
        order = np.argsort(pair_term.astype(np.uint16) if n_vocab <= 1 << 16 else pair_term, kind="stable")
        data = data[order]
        indices = pair_doc[order]
        del order, pair_doc
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        bm25.scores = {
            "data": data,
            "indices": indices,
            "indptr": indptr,
            "num_docs": n_docs,
        }
        bm25.vocab_dict = {term: i for i, term in enumerate(terms.vocab)}
        bm25.vocab_dict[""] = n_vocab  # the empty token bm25s.BM25.index adds past the matrix
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None
        index = cls(bm25, n_docs)
        index._terms = terms
        return index

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``, with the chunks' term ids when built here."""
        self._bm25.save(str(folder), show_progress=False)
        if self._terms is not None:
            self._terms.save(folder)

    @staticmethod
    def read_terms(folder: Path) -> ChunkTerms:
        """The chunks' term ids saved with the index in ``folder``, for a rebuild to reuse.

        Raises:
            OSError: no term ids there (an index saved before they were kept).
            ValueError: the files are corrupt.
        """
        with (folder / VOCAB).open(encoding="utf-8") as fh:
            vocab_dict: dict[str, int] = json.load(fh)
        vocab = [""] * (len(vocab_dict) - 1)
        for term, i in vocab_dict.items():
            if term and i < len(vocab):
                vocab[i] = term
        return ChunkTerms.load(folder, vocab)

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
