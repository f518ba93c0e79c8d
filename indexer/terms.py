"""Every chunk's BM25 terms as integer ids: what a build stores so a rebuild never re-tokenises.

A :class:`ChunkTerms` is a vocabulary (term strings, id = position) plus one flat array of
term ids, chunk after chunk, in token order (repeats kept: they are the term frequencies and
document lengths BM25 needs). Term ids are given in order of first occurrence, so the same
chunks give the same table whether it was assembled from strings (a full build) or from an
earlier build's ids plus a few newly tokenised chunks (an incremental one,
:class:`TermsBuilder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# A chunk without any term is indexed as this one term, so every chunk is a BM25 document.
EMPTY_DOC = "\u2205"
TERM_IDS = "term_ids.npy"
TERM_OFFSETS = "term_offsets.npy"


@dataclass(slots=True)
class ChunkTerms:
    """Chunk i's terms are ``vocab[ids[offsets[i]:offsets[i + 1]]]``."""

    vocab: list[str]
    ids: NDArray[np.int32]
    offsets: NDArray[np.int64]

    @property
    def n_docs(self) -> int:
        """Number of chunks."""
        return len(self.offsets) - 1

    @classmethod
    def from_lists(cls, token_lists: Sequence[Sequence[str]]) -> ChunkTerms:
        """The table of pre-tokenised chunks."""
        builder = TermsBuilder(None)
        builder.add_tokens(token_lists)
        return builder.finish()

    def tokens(self, doc: int) -> list[str]:
        """The terms of chunk ``doc``, in order."""
        return [self.vocab[i] for i in self.ids[self.offsets[doc] : self.offsets[doc + 1]].tolist()]

    def save(self, folder: Path) -> None:
        """Write the id arrays into ``folder`` (the vocabulary is the BM25 index's, saved with it)."""
        np.save(folder / TERM_IDS, self.ids)
        np.save(folder / TERM_OFFSETS, self.offsets)

    @classmethod
    def load(cls, folder: Path, vocab: list[str]) -> ChunkTerms:
        """Read what :meth:`save` wrote, with the vocabulary it refers to.

        Raises:
            OSError: the files are missing (a build made before terms were stored).
            ValueError: they are corrupt or refer to terms outside ``vocab``.
        """
        ids = np.load(folder / TERM_IDS)
        offsets = np.load(folder / TERM_OFFSETS)
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(ids):
            raise ValueError(f"{folder}: term offsets do not cover the {len(ids)} term ids")
        if len(ids) and (ids.min() < 0 or ids.max() >= len(vocab)):
            raise ValueError(f"{folder}: term ids outside the vocabulary of {len(vocab)} terms")
        return cls(vocab, ids.astype(np.int32, copy=False), offsets.astype(np.int64, copy=False))


class TermsBuilder:
    """Assembles a :class:`ChunkTerms` chunk by chunk, from an earlier table's rows or from new tokens.

    Args:
        base: the earlier build's table whose rows :meth:`add_rows` copies (None: tokens only).
    """

    def __init__(self, base: ChunkTerms | None) -> None:
        self._base = base
        self._vocab: list[str] = list(base.vocab) if base is not None else []
        self._index: dict[str, int] | None = None
        self._parts: list[NDArray[np.int32]] = []
        self._lengths: list[NDArray[np.int64]] = []

    def add_rows(self, start: int, stop: int) -> None:
        """Append chunks ``start``..``stop - 1`` of the base table."""
        base = self._base
        if base is None:
            raise ValueError("no base table to copy rows from")
        lo, hi = int(base.offsets[start]), int(base.offsets[stop])
        self._parts.append(base.ids[lo:hi])
        self._lengths.append(np.diff(base.offsets[start : stop + 1]))

    def add_tokens(self, token_lists: Sequence[Sequence[str]]) -> None:
        """Append newly tokenised chunks."""
        if self._index is None:
            self._index = {t: i for i, t in enumerate(self._vocab)}
        index, vocab = self._index, self._vocab
        flat: list[int] = []
        lengths = []
        for tokens in token_lists:
            terms = tokens or (EMPTY_DOC,)
            for term in terms:
                i = index.get(term)
                if i is None:
                    i = index[term] = len(vocab)
                    vocab.append(term)
                flat.append(i)
            lengths.append(len(terms))
        self._parts.append(np.asarray(flat, dtype=np.int32))
        self._lengths.append(np.asarray(lengths, dtype=np.int64))

    def finish(self) -> ChunkTerms:
        """The table: unused terms dropped, ids renumbered in order of first occurrence."""
        ids = np.concatenate(self._parts) if self._parts else np.zeros(0, np.int32)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Each term's first position (a scatter-min, cheaper than sorting every position).
        first = np.full(len(self._vocab), len(ids), dtype=np.int64)
        np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
        used = np.flatnonzero(first < len(ids))
        order = used[np.argsort(first[used])]
        new_id = np.zeros(len(self._vocab), dtype=np.int32)
        new_id[order] = np.arange(len(order), dtype=np.int32)
        vocab = [self._vocab[i] for i in order.tolist()]
        return ChunkTerms(vocab, new_id[ids] if len(ids) else ids, offsets)
