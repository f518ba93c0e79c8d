"""BM25 over analyzer terms (bm25s), one document per chunk."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
