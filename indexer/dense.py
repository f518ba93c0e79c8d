"""Dense scoring strategies: how a build's passage vectors find and score candidates for one query.

Each embedder names its strategy (:meth:`indexer.embed.Embedder.dense_scorer`), so the
retriever never asks which backend it runs on:

- :class:`CosineScorer`: one vector space; a chunk scores its cosine to the query.
- :class:`EnsembleScorer`: vectors ``[USE | English model]`` (:class:`indexer.embed.EnsembleEmbedder`).
  Chinese queries and non-English passages score by USE alone; English queries score
  English passages by ``(use_weight · cos_use + s · cos_st) / (use_weight + s)``, where
  ``s`` is ``st_weight`` times the share of query-language articles in USE's top 10, so
  that in a bilingual KB an English question whose answer is a Chinese article is not
  pushed aside (``kbassist eval breakdown``, crosslingual rows). When the candidates mix
  languages, the English passages' mixed scores are then mapped onto the USE scale the
  other passages are scored on (:func:`onto_scale`): the English model's cosines run higher
  than USE's, so without it an English article on a neighbouring topic beat the Chinese
  article that answers. ``use_weight`` is by default the build's own, fitted on its English
  titles (:mod:`indexer.calibration`), not a constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from indexer.config import EnsembleMix
from indexer.fusion import MIN_FIT, onto_scale, top_articles
from indexer.store import DenseIndex

Ids = NDArray[np.int64]
Scores = NDArray[np.float32]


class DenseScorer(Protocol):
    """Candidates and exact scores of one query against a build's chunk vectors."""

    def candidates(self, query: Scores, lang: str, allowed: Ids | None, n: int) -> Ids:
        """Chunk ids worth scoring (-1 entries are padding), at most ``n`` per FAISS query.

        Args:
            query: the query vector.
            lang: the query's language.
            allowed: chunk ids the filters allow (None: all).
            n: candidates per FAISS query.
        """
        ...

    def candidates_many(
        self, queries: Sequence[Scores], langs: Sequence[str], allowed: Ids | None, n: int
    ) -> list[Ids]:
        """:meth:`candidates` of each query, found by one index search for them all.

        A search of several queries reads the passage vectors once for all of them, where one
        search per query reads them for each (the service searches a batch's queries at once).
        """
        ...

    def scores(self, query: Scores, lang: str, rows: Ids, starts: Ids, same_lang: NDArray[np.bool_]) -> Scores:
        """Exact dense score of each chunk in ``rows``.

        Args:
            query: the query vector.
            lang: the query's language.
            rows: chunk ids, grouped by article.
            starts: where each article's group starts in ``rows``.
            same_lang: per article group, whether the article is in the query's language.
        """
        ...


class CosineScorer:
    """One vector space: FAISS finds the candidates, a chunk scores its cosine to the query."""

    def __init__(self, index: DenseIndex, vectors: Scores) -> None:
        self._index = index
        self._vectors = vectors

    def candidates(self, query: Scores, lang: str, allowed: Ids | None, n: int) -> Ids:
        """Chunk ids of the ``n`` nearest allowed vectors."""
        return self.candidates_many([query], [lang], allowed, n)[0]

    def candidates_many(  # noqa: ARG002 - one vector space: the languages do not matter
        self, queries: Sequence[Scores], langs: Sequence[str], allowed: Ids | None, n: int
    ) -> list[Ids]:
        """:meth:`candidates` of each query, in one index search."""
        return list(self._index.search(np.stack(queries), n, allowed)[1])

    def scores(self, query: Scores, lang: str, rows: Ids, starts: Ids, same_lang: NDArray[np.bool_]) -> Scores:  # noqa: ARG002
        """Cosine of each chunk to the query."""
        return np.asarray(self._vectors[rows] @ query, dtype=np.float32)


class EnsembleScorer:
    """Vectors made of a multilingual part (``[:split]``) and an English part (``[split:]``; zero for other passages).

    Args:
        index: FAISS over the full vectors.
        vectors: the build's chunk vectors.
        split: dimension of the multilingual part.
        use_weight: weight of the multilingual cosine for English queries.
        st_weight: weight of the English cosine for English queries (before the language share).
        mix: how the two cosines are mixed (``KB_ENSEMBLE_MIX``): ``weighted`` mixes raw cosines,
            ``standardized`` and ``confidence`` mix z-scores (:meth:`_standardized`).
    """

    def __init__(
        self,
        index: DenseIndex,
        vectors: Scores,
        split: int,
        use_weight: float,
        st_weight: float,
        mix: EnsembleMix = "weighted",
    ) -> None:
        self._index = index
        self._vectors = vectors
        self._split = split
        self._use_weight = use_weight
        self._st_weight = st_weight
        self._mix = mix
        self._has_english = np.linalg.norm(vectors[:, split:], axis=1) > 0

    @property
    def use_weight(self) -> float:
        """Weight of the multilingual cosine for English queries."""
        return self._use_weight

    def reweighted(self, use_weight: float) -> EnsembleScorer:
        """The same scorer with another USE weight (the build's calibrated one: :mod:`indexer.calibration`)."""
        return EnsembleScorer(self._index, self._vectors, self._split, use_weight, self._st_weight, self._mix)

    def _english_part(self, query: Scores, lang: str) -> Scores | None:
        """The query's English-model part, when the query is English and has one."""
        part = query[self._split :]
        return part if lang == "en" and np.any(part) else None

    def candidates(self, query: Scores, lang: str, allowed: Ids | None, n: int) -> Ids:
        """The ``n`` nearest by USE alone, plus (English queries) the ``n`` nearest by the weighted mix."""
        return self.candidates_many([query], [lang], allowed, n)[0]

    def candidates_many(
        self, queries: Sequence[Scores], langs: Sequence[str], allowed: Ids | None, n: int
    ) -> list[Ids]:
        """:meth:`candidates` of each query, in one index search (an English query searches two rows)."""
        split = self._split
        rows: list[Scores] = []
        owner: list[int] = []
        for i, (query, lang) in enumerate(zip(queries, langs, strict=True)):
            use_part = query.copy()
            use_part[split:] = 0
            rows.append(use_part)
            owner.append(i)
            if self._english_part(query, lang) is not None:
                weighted = query.copy()
                weighted[:split] *= self._use_weight
                weighted[split:] *= self._st_weight
                rows.append(weighted)
                owner.append(i)
        found = self._index.search(np.stack(rows), n, allowed)[1]
        bounds = np.searchsorted(owner, np.arange(len(queries) + 1))
        return [found[bounds[i] : bounds[i + 1]].ravel() for i in range(len(queries))]

    def parts(self, query: Scores, lang: str, rows: Ids) -> tuple[Scores, Scores | None]:
        """Per chunk, the USE cosine and (English queries only) the English model's cosine, NaN on other passages.

        The two signals :meth:`scores` mixes, apart, for offline tuning (``kbassist eval holdout``).
        """
        cu = np.asarray(self._vectors[rows, : self._split] @ query[: self._split], dtype=np.float32)
        english = self._english_part(query, lang)
        if english is None:
            return cu, None
        cm = np.asarray(self._vectors[rows, self._split :] @ english, dtype=np.float32)
        return cu, np.where(self._has_english[rows], cm, np.float32(np.nan)).astype(np.float32)

    def scores(self, query: Scores, lang: str, rows: Ids, starts: Ids, same_lang: NDArray[np.bool_]) -> Scores:
        """USE cosine, mixed with the English cosine for English queries on English passages."""
        split = self._split
        # Gather only the columns used: a Chinese query needs the USE part alone.
        cu = np.asarray(self._vectors[rows, :split] @ query[:split], dtype=np.float32)
        english = self._english_part(query, lang)
        if english is None or not len(rows):
            return cu
        share = float(np.mean(same_lang[top_articles(np.maximum.reduceat(cu, starts))]))
        st_weight = self._st_weight * share
        if st_weight == 0:
            return cu
        cm = np.asarray(self._vectors[rows, split:] @ english, dtype=np.float32)
        has = self._has_english[rows]
        english_arts = np.maximum.reduceat(has, starts)
        if self._mix != "weighted" and english_arts.sum() >= MIN_FIT:
            mixed = self._standardized(cu, cm, starts, english_arts, st_weight)
        else:
            mixed = np.asarray((self._use_weight * cu + st_weight * cm) / (self._use_weight + st_weight), np.float32)
            if not same_lang.all() and same_lang.sum() >= MIN_FIT:
                # Fitted on the English candidate articles' best chunks, applied to all their chunks.
                best = np.maximum.reduceat(mixed, starts)[same_lang], np.maximum.reduceat(cu, starts)[same_lang]
                mixed = onto_scale(*best)(mixed)
        return np.asarray(np.where(has, mixed, cu), dtype=np.float32)

    def _standardized(self, cu: Scores, cm: Scores, starts: Ids, arts: NDArray[np.bool_], st_weight: float) -> Scores:
        """Each cosine as a z-score over the English candidate articles' best chunks, mixed, on USE's scale.

        ``standardized`` weighs the z-scores ``use_weight`` : ``st_weight``; ``confidence``
        weighs each model by its best article's z-score (how far its first choice stands out),
        times the language share for the English model.
        """
        use_best = np.maximum.reduceat(cu, starts)[arts]
        st_best = np.maximum.reduceat(cm, starts)[arts]
        zu, zs = _z(cu, use_best), _z(cm, st_best)
        if self._mix == "confidence":
            u = max(float(_z(use_best, use_best).max()), 0.0)
            s = st_weight / self._st_weight * max(float(_z(st_best, st_best).max()), 0.0) if self._st_weight else 0.0
        else:
            u, s = self._use_weight, st_weight
        if u + s <= 0:
            return cu
        z = np.asarray((u * zu + s * zs) / (u + s), np.float32)
        # A mean of z-scores spreads less than either: map it back onto USE's mean and spread.
        return onto_scale(np.maximum.reduceat(z, starts)[arts], use_best)(z)


def _z(x: Scores, reference: Scores) -> Scores:
    """``x`` standardized by ``reference``'s mean and spread (shifted only when it is flat)."""
    spread = float(reference.std())
    return np.asarray((x - float(reference.mean())) / (spread if spread > 0 else 1.0), np.float32)
