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

Across languages USE matches short texts better than passages: an English question ranks a
Chinese article's title and tags (its *card*, :func:`card_text`) closer to the answer than
its passages, which also hold sentences on neighbouring topics (eval/RESULTS.md: English
questions whose only answer is Chinese). So a bilingual build
embeds each article's card (``cards.npy``, :func:`article_cards`), and for one query
the other-language candidates are ordered by passage score plus card cosine, mapped back onto
the mean and spread of their passage scores (:meth:`LanguageBridge.card_shift`): the card
decides their order among themselves, not how the other language stands against the query's
own. Equal weights and a map fitted per query: nothing here is a constant to tune.

BM25 matches words, so it scores only articles in the query's language; an article's
counterpart holds the same content in that language. With ``KB_TWIN_LEXICAL`` an
other-language candidate with a counterpart takes its counterpart's BM25 score in hybrid
search (:meth:`LanguageBridge.twin_lexical`), so both versions of one article rise together.
Off by default: on the golden set it adds the twin of the first answer to the top 5 (R@5
+0.021) but moves the first answer down slightly (MRR@10 −0.003), and an agent gains little
from seeing the same article twice (eval/RESULTS.md, 2026-12-03 *Twins and the language level*).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from indexer.embed import Embedder, Vectors
from indexer.fusion import MIN_FIT, onto_scale

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


def multilingual_model(embedder: Embedder) -> Embedder | None:
    """The multilingual model of the backend (the embedder itself, or the ensemble's USE part), if any."""
    if embedder.backend == "use-multilingual":
        return embedder
    part = getattr(embedder, "use", None)
    return cast(Embedder, part) if embedder.backend == "ensemble" and part is not None else None


def card_text(meta: Mapping[str, Any]) -> str:
    """An article's card: its title, then its tags."""
    tags = meta.get("tags") or []
    return " ".join([str(meta.get("title") or ""), *(str(t) for t in tags)]).strip()


def bridged_languages(chunk_lang: NDArray[np.str_]) -> tuple[str, str] | None:
    """The two languages with the most passages, when each has at least :data:`MIN_PASSAGES` (else None)."""
    langs, counts = np.unique(chunk_lang[chunk_lang != ""], return_counts=True)
    if len(langs) < 2:
        return None
    first, second = (str(x) for x in langs[np.argsort(-counts, kind="stable")[:2]])
    if min(int((chunk_lang == first).sum()), int((chunk_lang == second).sum())) < MIN_PASSAGES:
        return None
    return first, second


def article_cards(embedder: Embedder, metas: Sequence[Mapping[str, Any]]) -> Vectors | None:
    """Each article's card embedded by the backend's multilingual model (None: the backend has none)."""
    model = multilingual_model(embedder)
    if model is None or not len(metas):
        return None
    return model.embed_documents([card_text(m) for m in metas])


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
        cards: per article, the multilingual vector of its card (:meth:`with_cards`; None: none).
        twins: per article, the index of its counterpart in the other language, -1 for none
            (None: no article has one).
    """

    alone: NDArray[np.bool_]
    article_lang: NDArray[np.str_]
    offsets: dict[str, float] = field(default_factory=dict)
    cards: Vectors | None = None
    twins: Ids | None = None

    @property
    def bilingual(self) -> bool:
        """Whether the build has two languages with enough passages each to bridge."""
        return bool(self.offsets)

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
        languages = bridged_languages(chunk_lang)
        if languages is None:
            return cls.none(n)
        first, second = languages
        centroids = np.zeros((n, vectors.shape[1]), np.float32)
        np.add.at(centroids, chunk_article, vectors)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        centroids /= np.where(norms > 0, norms, 1.0)
        a, b = np.flatnonzero(article_lang == first), np.flatnonzero(article_lang == second)
        a_to_b, b_to_a = _nearest(centroids[a], centroids[b]), _nearest(centroids[b], centroids[a])
        alone = np.zeros(n, np.bool_)
        alone[a] = b_to_a[a_to_b] != np.arange(len(a))
        alone[b] = a_to_b[b_to_a] != np.arange(len(b))
        twins = np.full(n, -1, np.int64)
        twins[a] = np.where(alone[a], -1, b[a_to_b])
        twins[b] = np.where(alone[b], -1, a[b_to_a])
        offsets = {
            first: language_offset(vectors, chunk_article, chunk_lang, first, second),
            second: language_offset(vectors, chunk_article, chunk_lang, second, first),
        }
        return cls(alone, article_lang, offsets, twins=twins)

    def shift(self, lang: str, arts: Ids) -> NDArray[np.float32] | None:
        """Per candidate article ``arts``, what to add to its dense score for a query in ``lang`` (None: nothing)."""
        offset = self.offsets.get(lang, 0.0)
        if offset == 0.0 or not len(arts):
            return None
        gains = self.alone[arts] & (self.article_lang[arts] != lang)
        return np.where(gains, np.float32(offset), np.float32(0.0)).astype(np.float32) if gains.any() else None

    def with_cards(
        self, embedder: Embedder, metas: Sequence[Mapping[str, Any]], stored: Vectors | None = None
    ) -> LanguageBridge:
        """This bridge with each article's card vector; unchanged if not bilingual.

        Args:
            embedder: the build's embedder.
            metas: the articles' metadata, in build order.
            stored: the cards the build wrote (``cards.npy``); a build made before it had
                them gets its cards embedded here instead.
        """
        if not self.bilingual:
            return self
        cards = stored if stored is not None else article_cards(embedder, metas)
        return self if cards is None else replace(self, cards=cards)

    def card_shift(
        self, query: Vectors, arts: Ids, same_lang: NDArray[np.bool_], scores: NDArray[np.float32]
    ) -> NDArray[np.float32] | None:
        """Per candidate article, what to add to its dense score so that the other language's are ordered by card too.

        Args:
            query: the query vector (its multilingual part leads, as in the build's vectors).
            arts: candidate articles (build order indices).
            same_lang: per candidate, whether it is in the query's language.
            scores: per candidate, its dense score.

        Returns:
            Zero for the query language's candidates; for the other's, ``onto(score + card) −
            score``, where ``onto`` maps their ``score + card cosine`` onto their scores' mean
            and spread. None without cards or with fewer than :data:`MIN_FIT` other-language
            candidates.
        """
        if self.cards is None or len(same_lang) - int(np.count_nonzero(same_lang)) < MIN_FIT:
            return None
        other = np.flatnonzero(~same_lang)
        base = scores[other]
        key = base + self.cards[arts[other]] @ query[: self.cards.shape[1]]
        out = np.zeros(len(arts), np.float32)
        out[other] = onto_scale(key, base)(key) - base
        return out

    def twin_lexical(
        self,
        lang: str,
        arts: Ids,
        same_lang: NDArray[np.bool_],
        lexical: NDArray[np.float32],
        twin_best: Callable[[Ids], NDArray[np.float32]],
    ) -> tuple[NDArray[np.float32], NDArray[np.bool_]] | None:
        """Per candidate article, its BM25 score, other-language articles taking their counterpart's in ``lang``.

        Args:
            lang: the query's language.
            arts: candidate articles (build order indices).
            same_lang: per candidate, whether it is in the query's language.
            lexical: per candidate, its own BM25 score (its best chunk's).
            twin_best: articles -> the best BM25 score of each one's chunks.

        Returns:
            The scores and, per candidate, whether BM25 scored it (query language, or a
            counterpart in it); None when no other-language candidate has a counterpart.
        """
        if self.twins is None:
            return None
        twins = self.twins[arts]
        inherits = ~same_lang & (twins >= 0) & (self.article_lang[twins] == lang)
        if not inherits.any():
            return None
        out = lexical.copy()
        out[inherits] = twin_best(twins[inherits])
        return out, same_lang | inherits
