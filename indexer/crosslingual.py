"""Articles in the other language: the multilingual model's preference for the query's own language, undone.

USE scores text in the query's language higher than the same content in the other language:
on the golden set a Chinese query's cosine to the Chinese version of an article exceeds its
cosine to the English twin by 0.115 on average (eval/RESULTS.md). Where both versions exist
that does no harm (the query finds the version in its own language), but an article written
only in the other language loses to same-language articles on neighbouring topics: a Chinese
question whose only answer is an English article was rarely first.

:class:`LanguageBridge` corrects that with two facts of the build, computed at load from the
passage vectors (nothing is fitted to queries or to a dataset):

- **counterpart**: an article has one when it and an article of the other language are each
  other's nearest neighbour (centroids of their passages' multilingual vectors). Its content
  is reachable in both languages, so it keeps its score.
- **offset**: for passages in language L, the mean cosine to the passages of other articles in
  L minus the mean cosine to the passages in the other language (a fixed sample of each):
  how much more alike the model finds text in one language, whatever it says.

For a query in L, every candidate article of the other language without a counterpart gets
``offset[L]`` added to its dense score. A KB in one language has no other-language article,
so nothing changes there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from indexer.embed import Embedder, Vectors

# Fewest passages per language for an offset: fewer give no stable mean.
MIN_PASSAGES = 20
# Passages sampled per language as pseudo-queries, and as the passages they are compared with.
SAMPLE_QUERIES = 256
SAMPLE_TARGETS = 2048
# Rows per block of the nearest-neighbour products, to bound memory on large KBs.
BLOCK = 1024

Ids = NDArray[np.int64]


def multilingual_part(embedder: Embedder, vectors: Vectors) -> Vectors | None:
    """The columns of the build's vectors that come from the multilingual model, if the backend has one."""
    if embedder.backend == "use-multilingual":
        return vectors
    split = getattr(embedder, "split", None)
    if embedder.backend == "ensemble" and isinstance(split, int):
        return vectors[:, :split]
    return None


def _spread(ids: Ids, n: int) -> Ids:
    """At most ``n`` of ``ids``, evenly spaced (deterministic)."""
    if len(ids) <= n:
        return ids
    return ids[np.linspace(0, len(ids) - 1, n).astype(np.int64)]


def _nearest(a: Vectors, b: Vectors) -> Ids:
    """For each row of ``a``, the index of its most similar row of ``b``."""
    out = np.empty(len(a), np.int64)
    for start in range(0, len(a), BLOCK):
        out[start : start + BLOCK] = np.argmax(a[start : start + BLOCK] @ b.T, axis=1)
    return out


def language_offset(vectors: Vectors, chunk_article: Ids, chunk_lang: NDArray[np.str_], lang: str, other: str) -> float:
    """Mean over sampled ``lang`` passages of (mean cosine to other ``lang`` articles' passages − to ``other`` ones)."""
    queries = _spread(np.flatnonzero(chunk_lang == lang), SAMPLE_QUERIES)
    same = _spread(np.flatnonzero(chunk_lang == lang), SAMPLE_TARGETS)
    across = _spread(np.flatnonzero(chunk_lang == other), SAMPLE_TARGETS)
    q = vectors[queries]
    to_same = q @ vectors[same].T
    elsewhere = chunk_article[queries][:, None] != chunk_article[same][None, :]
    counts = elsewhere.sum(axis=1)
    keep = counts > 0
    mean_same = (to_same * elsewhere).sum(axis=1)[keep] / counts[keep]
    mean_across = (q[keep] @ vectors[across].T).mean(axis=1)
    return float(np.mean(mean_same - mean_across)) if keep.any() else 0.0


@dataclass(frozen=True, slots=True)
class LanguageBridge:
    """Per article of a build, whether it lacks a counterpart in the other language; per query language, the offset.

    Attributes:
        alone: per article (build order), true when its language is one of the two and it
            has no counterpart in the other.
        article_lang: per article, its language.
        offsets: per query language, what an other-language article without a counterpart gains.
    """

    alone: NDArray[np.bool_]
    article_lang: NDArray[np.str_]
    offsets: dict[str, float] = field(default_factory=dict)

    @classmethod
    def none(cls, n_articles: int) -> LanguageBridge:
        """A bridge that changes nothing (one language, or no multilingual model)."""
        return cls(np.zeros(n_articles, np.bool_), np.full(n_articles, "", dtype="<U8"))

    @classmethod
    def of(cls, vectors: Vectors | None, chunk_article: Ids, article_lang: NDArray[np.str_]) -> LanguageBridge:
        """The bridge of a build, from its passages' multilingual vectors.

        Args:
            vectors: per passage, the unit vector of the multilingual model (None: there is none).
            chunk_article: per passage, its article's index.
            article_lang: per article, its language.
        """
        n = len(article_lang)
        if vectors is None or not len(chunk_article):
            return cls.none(n)
        chunk_lang = article_lang[chunk_article]
        langs, counts = np.unique(chunk_lang[chunk_lang != ""], return_counts=True)
        if len(langs) < 2:
            return cls.none(n)
        first, second = (str(x) for x in langs[np.argsort(-counts, kind="stable")[:2]])
        if min(int((chunk_lang == first).sum()), int((chunk_lang == second).sum())) < MIN_PASSAGES:
            return cls.none(n)
        centroids = np.zeros((n, vectors.shape[1]), np.float32)
        np.add.at(centroids, chunk_article, vectors)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        centroids /= np.where(norms > 0, norms, 1.0)
        a, b = np.flatnonzero(article_lang == first), np.flatnonzero(article_lang == second)
        a_to_b, b_to_a = _nearest(centroids[a], centroids[b]), _nearest(centroids[b], centroids[a])
        alone = np.zeros(n, np.bool_)
        alone[a] = b_to_a[a_to_b] != np.arange(len(a))
        alone[b] = a_to_b[b_to_a] != np.arange(len(b))
        offsets = {
            first: language_offset(vectors, chunk_article, chunk_lang, first, second),
            second: language_offset(vectors, chunk_article, chunk_lang, second, first),
        }
        return cls(alone, article_lang, offsets)

    def shift(self, lang: str, arts: Ids) -> NDArray[np.float32] | None:
        """Per candidate article ``arts``, what to add to its dense score for a query in ``lang`` (None: nothing)."""
        offset = self.offsets.get(lang, 0.0)
        if offset == 0.0 or not len(arts):
            return None
        gains = self.alone[arts] & (self.article_lang[arts] != lang)
        return np.where(gains, np.float32(offset), np.float32(0.0)).astype(np.float32) if gains.any() else None
