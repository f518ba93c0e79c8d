"""Metadata filters and the internal-audience rule, as masks over a build's chunks.

Both rankers apply the mask before their top-k cut, so a filtered search still returns
``k`` allowed articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Distinct (filters, include_internal) masks kept per build; a service sees few distinct filter sets.
_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict results by article metadata; each set given must contain the article's value."""

    category: frozenset[str] = frozenset()
    product: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    channel: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        category: Iterable[str] = (),
        product: Iterable[str] = (),
        tags: Iterable[str] = (),
        channel: Iterable[str] = (),
    ) -> Filters:
        """Build filters from any iterables."""
        return cls(frozenset(category), frozenset(product), frozenset(tags), frozenset(channel))

    def accepts(self, meta: dict[str, Any]) -> bool:
        """Whether an article (its metadata dict) passes every filter."""
        if self.category and meta.get("category") not in self.category:
            return False
        if self.product and meta.get("product") not in self.product | {"all"}:
            return False
        if self.tags and not self.tags & set(meta.get("tags") or ()):
            return False
        if self.channel and not self.channel & set(meta.get("channel") or ()):
            return False
        return True


class ChunkMasks:
    """The chunks each (filters, audience) combination allows, computed once per combination.

    Args:
        articles: metadata of every article, in article-index order.
        chunk_article: article index of every chunk.
    """

    def __init__(self, articles: Sequence[dict[str, Any]], chunk_article: NDArray[np.int64]) -> None:
        self._articles = articles
        self._chunk_article = chunk_article
        self._cache: dict[tuple[Filters, bool], NDArray[np.int64] | None] = {}

    def allowed(self, filters: Filters | None, include_internal: bool) -> NDArray[np.int64] | None:
        """Chunk ids that pass the filters (None = all chunks).

        A mask that passes every chunk (no internal articles, filters that match all) is
        None too: FAISS then searches without an id selector, which costs time on every query.
        """
        filters = filters or Filters()
        key = (filters, include_internal)
        if key not in self._cache:
            if filters == Filters() and include_internal:
                allowed = None
            else:
                ok = np.array(
                    [
                        (include_internal or meta.get("audience") != "internal") and filters.accepts(meta)
                        for meta in self._articles
                    ],
                    dtype=bool,
                )
                passed = ok[self._chunk_article]
                allowed = None if passed.all() else np.flatnonzero(passed).astype(np.int64)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = allowed
        return self._cache[key]
