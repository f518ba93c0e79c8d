"""Every chunk's BM25 terms as integer ids: what a build stores so a rebuild never re-tokenises.

A :class:`ChunkTerms` is a vocabulary (term strings, id = position) plus, chunk after
chunk, each distinct term of the chunk with its count there (in order of first occurrence
in the chunk): the term frequencies and chunk lengths BM25 needs, with no counting left
to do. Term ids are given in order of first occurrence, so the same chunks give the same
table whether it was assembled from strings (a full build) or from an earlier build's
rows plus a few newly tokenised chunks (an incremental one, :class:`TermsBuilder`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# A chunk without any term is indexed as this one term, so every chunk is a BM25 document.
EMPTY_DOC = "\u2205"
TERM_IDS = "term_ids.npy"
TERM_COUNTS = "term_counts.npy"
TERM_OFFSETS = "term_offsets.npy"


@dataclass(slots=True)
class ChunkTerms:
    """Chunk i holds term ``vocab[ids[j]]`` ``counts[j]`` times, for j in ``offsets[i]..offsets[i + 1] - 1``."""

    vocab: list[str]
    ids: NDArray[np.int32]
    counts: NDArray[np.int32]
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

    def counter(self, doc: int) -> dict[str, int]:
        """The terms of chunk ``doc`` with their counts, in order of first occurrence."""
        lo, hi = int(self.offsets[doc]), int(self.offsets[doc + 1])
        return {self.vocab[i]: c for i, c in zip(self.ids[lo:hi].tolist(), self.counts[lo:hi].tolist(), strict=True)}

    def save(self, folder: Path) -> None:
        """Write the id arrays into ``folder`` (the vocabulary is the BM25 index's, saved with it)."""
        np.save(folder / TERM_IDS, self.ids)
        np.save(folder / TERM_COUNTS, self.counts)
        np.save(folder / TERM_OFFSETS, self.offsets)

    @classmethod
    def load(cls, folder: Path, vocab: list[str]) -> ChunkTerms:
        """Read what :meth:`save` wrote, with the vocabulary it refers to.

        Raises:
            OSError: the files are missing (a build made before terms were stored).
            ValueError: they are corrupt or refer to terms outside ``vocab``.
        """
        ids = np.load(folder / TERM_IDS)
        counts = np.load(folder / TERM_COUNTS)
        offsets = np.load(folder / TERM_OFFSETS)
        if (
            offsets.ndim != 1
            or len(offsets) == 0
            or offsets[0] != 0
            or offsets[-1] != len(ids)
            or len(ids) != len(counts)
        ):
            raise ValueError(f"{folder}: term offsets do not cover the {len(ids)} term ids")
        if len(ids) and (ids.min() < 0 or ids.max() >= len(vocab)):
            raise ValueError(f"{folder}: term ids outside the vocabulary of {len(vocab)} terms")
        return cls(
            vocab,
            ids.astype(np.int32, copy=False),
            counts.astype(np.int32, copy=False),
            offsets.astype(np.int64, copy=False),
        )


class TermsBuilder:
    """Assembles a :class:`ChunkTerms` chunk by chunk, from an earlier table's rows or from new tokens.

    Args:
        base: the earlier build's table whose rows :meth:`add_rows` copies (None: tokens only).
    """

    def __init__(self, base: ChunkTerms | None) -> None:
        self._base = base
        self._vocab: list[str] = list(base.vocab) if base is not None else []
        self._index: dict[str, int] | None = None
        self._ids: list[NDArray[np.int32]] = []
        self._counts: list[NDArray[np.int32]] = []
        self._sizes: list[NDArray[np.int64]] = []
        self._rows: tuple[int, int] | None = None  # base rows added but not copied yet

    def add_rows(self, start: int, stop: int) -> None:
        """Append chunks ``start``..``stop - 1`` of the base table."""
        if self._base is None:
            raise ValueError("no base table to copy rows from")
        if self._rows is not None and self._rows[1] == start:
            self._rows = (self._rows[0], stop)  # continues the last rows: one copy for the whole run
            return
        self._flush_rows()
        self._rows = (start, stop)

    def _flush_rows(self) -> None:
        if self._rows is None or self._base is None:
            return
        (start, stop), base = self._rows, self._base
        lo, hi = int(base.offsets[start]), int(base.offsets[stop])
        self._ids.append(base.ids[lo:hi])
        self._counts.append(base.counts[lo:hi])
        self._sizes.append(np.diff(base.offsets[start : stop + 1]))
        self._rows = None

    def add_tokens(self, token_lists: Sequence[Sequence[str]]) -> None:
        """Append newly tokenised chunks."""
        self._flush_rows()
        if self._index is None:
            self._index = {t: i for i, t in enumerate(self._vocab)}
        index, vocab = self._index, self._vocab
        ids: list[int] = []
        counts: list[int] = []
        sizes = []
        for tokens in token_lists:
            counter = Counter(tokens or (EMPTY_DOC,))
            for term, count in counter.items():
                i = index.get(term)
                if i is None:
                    i = index[term] = len(vocab)
                    vocab.append(term)
                ids.append(i)
                counts.append(count)
            sizes.append(len(counter))
        self._ids.append(np.asarray(ids, dtype=np.int32))
        self._counts.append(np.asarray(counts, dtype=np.int32))
        self._sizes.append(np.asarray(sizes, dtype=np.int64))

    def finish(self) -> ChunkTerms:
        """The table: unused terms dropped, ids renumbered in order of first occurrence.

        The builder is spent: its blocks are released as they are joined (a 100k-chunk build
        holds them as ~300k small arrays), so the table is the only copy while the build goes on.
        """
        self._flush_rows()
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int32)
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, np.int32)
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
        self._ids, self._counts, self._sizes, self._index, self._base = [], [], [], None, None
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        # Each term's first position (a scatter-min, cheaper than sorting every position).
        first = np.full(len(self._vocab), len(ids), dtype=np.int64)
        np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
        used = np.flatnonzero(first < len(ids))
        order = used[np.argsort(first[used])]
        new_id = np.zeros(len(self._vocab), dtype=np.int32)
        new_id[order] = np.arange(len(order), dtype=np.int32)
        vocab = [self._vocab[i] for i in order.tolist()]
        return ChunkTerms(vocab, new_id[ids] if len(ids) else ids, counts, offsets)
