"""Search a published build: dense (FAISS), lexical (BM25) or hybrid (:mod:`indexer.fusion`).

Results are articles, not chunks: an article scores by its chunks in each ranking
(BM25: the best chunk; dense: :func:`indexer.fusion.article_dense`), and its best chunk
becomes the snippet. Filters and the internal-audience rule
are applied inside each ranker before its top-k cut (:mod:`indexer.filters`).

Longer than our ~300-line guide because it is the one pipeline (embed → candidates →
scores → fusion → hits → answer probability) and its result types; every scoring concept
it calls lives in a module of its own (:mod:`indexer.dense`, :mod:`indexer.fusion`,
:mod:`indexer.snippet`, :mod:`indexer.answerable`, :mod:`indexer.layout`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import Analyzer, chinese_vocabulary, shown_terms
from indexer.answerable import AnswerModel, Signals, answer_model, measure_signals
from indexer.calibration import calibrated_use_weight
from indexer.chunk import Chunk
from indexer.config import SearchMode
from indexer.conversation import search_text
from indexer.crosslingual import LanguageBridge, multilingual_part
from indexer.dense import EnsembleScorer
from indexer.embed import Embedder, Vectors, embedder_id
from indexer.errors import IndexLoadError
from indexer.filters import ChunkMasks, Filters
from indexer.fusion import (
    FusionParams,
    article_dense,
    fuse,
    keep_language_level,
    language_gate,
    lexical_weight,
    top_articles,
)
from indexer.lang import detect_lang
from indexer.layout import Build, read_build, read_manifest
from indexer.normalize import QueryNormalizer
from indexer.plaintext import plain_chunk
from indexer.snippet import make_snippet
from indexer.titles import TitleIndex, title_text

Ids = NDArray[np.int64]
DEFAULT_K = 5  # results of a search that does not say
_NO_IDS: Ids = np.zeros(0, np.int64)


@dataclass(slots=True)
class Hit:
    """One ranked article."""

    article_id: str
    title: str
    score: float
    snippet: str
    highlights: list[tuple[int, int]]
    chunk: Chunk
    dense_score: float | None
    lexical_score: float | None
    meta: dict[str, Any]


@dataclass(slots=True)
class SearchResult:
    """Ranked articles plus the raw signals a confidence decision needs."""

    hits: list[Hit]
    mode: str
    top_dense: float
    top_lexical: float
    took_ms: float
    terms: list[str] = field(default_factory=list)
    normalized: str = ""
    answerable: bool = True
    confidence: float = 0.0
    lang: str = "zh"
    signals: Signals | None = None


@dataclass(slots=True)
class CandidateSignals:
    """Per candidate article of one query: USE cosine, English-model cosine (NaN: none), BM25, language match.

    The cosines are those of the article's best chunk and (``*_mean``) their mean over its chunks.
    """

    article_ids: list[str]
    lang: str
    text: str
    use: NDArray[np.float32]
    st: NDArray[np.float32]
    bm25: NDArray[np.float32]
    same_lang: NDArray[np.bool_]
    use_mean: NDArray[np.float32]
    st_mean: NDArray[np.float32]


@dataclass(slots=True)
class _Candidates:
    """The chunks of every candidate article, grouped by article, with their scores.

    ``rows`` lists the chunks of the articles ``arts`` (ascending), article by article;
    ``starts[i]`` is where article ``arts[i]`` begins; ``same_lang[i]`` says whether it is
    written in the query's language.
    """

    arts: Ids
    rows: Ids
    starts: Ids
    same_lang: NDArray[np.bool_]
    dense: NDArray[np.float32]  # per chunk
    lexical: NDArray[np.float32]  # per chunk

    def best(self, per_chunk: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per article, the best of its chunks' scores."""
        return np.maximum.reduceat(per_chunk, self.starts) if len(self.rows) else np.zeros(0, np.float32)

    def mean(self, per_chunk: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per article, the mean of its chunks' scores."""
        if not len(self.rows):
            return np.zeros(0, np.float32)
        lengths = np.diff(np.append(self.starts, len(self.rows)))
        return np.asarray(np.add.reduceat(per_chunk, self.starts) / lengths, np.float32)


class Retriever:
    """A loaded build plus the embedder and analyzer that query it."""

    def __init__(self, build: Build, embedder: Embedder, analyzer: Analyzer, fusion: FusionParams) -> None:
        self.folder = build.folder
        self.manifest = build.manifest
        self.articles = build.articles
        self.chunks = build.chunks
        self.lexical = build.lexical
        self.embedder = embedder
        self.analyzer = analyzer
        self.fusion = fusion
        # A plain view of the memory-mapped matrix: indexing a np.memmap costs more on every query.
        self.vectors: NDArray[np.float32] = np.asarray(build.vectors)
        self.dense = embedder.dense_scorer(build.dense, self.vectors)
        self._article_ids = list(self.articles)
        index_of = {a: i for i, a in enumerate(self._article_ids)}
        self._chunk_article = np.array([index_of[c.article_id] for c in self.chunks], dtype=np.int64)
        order = np.argsort(self._chunk_article, kind="stable")
        bounds = np.searchsorted(self._chunk_article[order], np.arange(len(self._article_ids) + 1))
        self._chunk_order, self._article_bounds = order.astype(np.int64), bounds.astype(np.int64)
        self._article_chunks = [order[bounds[i] : bounds[i + 1]] for i in range(len(self._article_ids))]
        self._article_lang = np.array([str(self.articles[a].get("lang") or "") for a in self._article_ids])
        vectors = multilingual_part(embedder, np.asarray(build.vectors))
        self._bridge = LanguageBridge.of(vectors, self._chunk_article, self._article_lang)
        if fusion.crosslingual_rescore:
            metas = [self.articles[a] for a in self._article_ids]
            self._bridge = self._bridge.with_cards(embedder, metas, build.cards)
        self._masks = ChunkMasks(list(self.articles.values()), self._chunk_article)
        if isinstance(self.dense, EnsembleScorer) and fusion.use_weight_rule == "calibrated":
            weight = self.manifest.ensemble_use_weight
            if weight is None:  # a build made before calibration existed, or one it cannot calibrate (quick)
                metas = [self.articles[a] for a in self._article_ids]
                weight = calibrated_use_weight(embedder, metas, self._chunk_article, self.vectors)
            if weight is not None:
                self.dense = self.dense.reweighted(fusion.calibrated_use_scale * weight)

    @property
    def version(self) -> str:
        """The build's version name."""
        return self.manifest.version

    @property
    def chunk_articles(self) -> Ids:
        """Per chunk, the index of its article (in ``articles`` order)."""
        return self._chunk_article

    @property
    def n_chunks(self) -> int:
        """Number of chunks in the build."""
        return len(self.chunks)

    @classmethod
    def load(
        cls, folder: Path, embedder: Embedder, analyzer: Analyzer | None = None, fusion: FusionParams | None = None
    ) -> Retriever:
        """Load a build directory.

        Args:
            folder: the build.
            embedder: embeds queries; must be the one the build was made with.
            analyzer: the build's analyzer when the caller has it loaded already (it is
                checked against the build's files); else read from the build.
            fusion: hybrid-search tunables (default: :class:`FusionParams` defaults).

        Raises:
            IndexLoadError: files are missing or corrupt, or the build was made with
                another embedding model than ``embedder``.
        """
        manifest = read_manifest(folder)
        if manifest.embedder_id != embedder_id(embedder):
            raise IndexLoadError(
                f"{folder} was built with {manifest.embedder_id}, but the service uses {embedder_id(embedder)}; "
                "rebuild with `kbassist index --full` or set KB_EMBEDDING_BACKEND/KB_EMBEDDING_MODEL to match"
            )
        build = read_build(folder, manifest)
        if analyzer is None:
            analyzer = Analyzer.for_content(folder)
        if analyzer.fingerprint != manifest.analyzer:
            raise IndexLoadError(f"{folder}: analyzer files do not match the manifest")
        return cls(build, embedder, analyzer, fusion or FusionParams())

    def search(
        self,
        query: str,
        k: int = DEFAULT_K,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        include_internal: bool = False,
        query_vector: Vectors | None = None,
        normalized: str | None = None,
        dense_found: Ids | None = None,
    ) -> SearchResult:
        """Rank articles for ``query``.

        Args:
            query: the customer's message (mask PII before calling).
            k: number of articles to return.
            mode: ``hybrid``, ``dense`` or ``lexical``.
            filters: metadata restrictions applied before the top-k cut.
            include_internal: whether ``audience: internal`` articles may be returned.
            query_vector: ``self.embedder.embed_queries([self.normalize(query)])[0]`` when the
                caller has it already (the service embeds concurrent queries in one batch).
            normalized: ``self.normalize(query)`` when the caller has it already (the rewrite
                looks words up in several tables: doing it once per request saves that time).
            dense_found: this query's entry of :meth:`dense_candidates` when the caller found
                the dense candidates of several queries at once.
        """
        started = time.perf_counter()
        query = self.normalize(query) if normalized is None else normalized
        lang = detect_lang(query)
        terms = self.analyzer.tokens(query)
        allowed = self._masks.allowed(filters, include_internal)
        nothing_allowed = allowed is not None and len(allowed) == 0
        qv = None
        if mode in ("hybrid", "dense") and not nothing_allowed:
            qv = self.embedder.embed_queries([query])[0] if query_vector is None else query_vector
        bm25 = self.lexical.scores(terms) if mode in ("hybrid", "lexical") and not nothing_allowed else None
        found = self._candidate_chunks(qv, bm25, lang, allowed, self._depth(k), dense_found)
        cand = self._candidates(found, qv, bm25, lang)
        dense_a, lex_a = cand.best(cand.dense), cand.best(cand.lexical)
        ranking_dense = article_dense(dense_a, cand.mean(cand.dense), self.fusion.article_score)
        if qv is not None and self.fusion.crosslingual_rescore:
            cards = self._bridge.card_shift(qv, cand.arts, cand.same_lang, ranking_dense)
            if cards is not None:  # other-language articles ordered by their cards too (indexer/crosslingual.py)
                # One constant per article: its chunks keep their order, so the chunk scores stay as they are.
                dense_a, ranking_dense = dense_a + cards, ranking_dense + cards
        top_dense = float(dense_a.max()) if qv is not None and len(dense_a) else 0.0
        top_lexical = float(lex_a.max()) if len(lex_a) else 0.0
        chunk_score, fused = self._rank_scores(mode, cand, ranking_dense, lex_a, top_lexical, lang, bm25)
        if mode == "hybrid" and self.fusion.title_weight > 0:
            # Lexical like BM25, so held back like BM25 when the dense top mixes languages.
            gate = language_gate(cand.same_lang[top_articles(ranking_dense)])
            fused = fused + gate * self.fusion.title_weight * self.titles.coverage(terms, cand.arts)
        arts, starts = cand.arts, cand.starts
        if mode == "lexical":
            keep = lex_a > 0
            arts, fused, starts = arts[keep], fused[keep], starts[keep]
        order = np.argsort(-fused, kind="stable")[:k]
        display = shown_terms(terms)
        ends = np.append(starts[1:], len(cand.rows)) if len(starts) else starts
        hits = []
        for i in order.tolist():
            span = slice(int(starts[i]), int(ends[i]))
            best_chunk = self.chunks[int(cand.rows[span][int(np.argmax(chunk_score[span]))])]
            dense_score = float(ranking_dense[i]) if qv is not None else None
            lexical_score = float(lex_a[i]) if bm25 is not None else None
            hits.append(self._hit(int(arts[i]), best_chunk, float(fused[i]), dense_score, lexical_score, display))
        signals = None
        if qv is not None:
            top_chunks = self._article_chunks[int(arts[order[0]])] if len(order) else _NO_IDS
            lexical_best = top_lexical if bm25 is not None else self._top_bm25(terms, allowed)
            signals = measure_signals(dense_a, top_chunks, terms, self.lexical, lexical_best)
        # Lexical mode has no calibrated score: it can only say whether any term matched.
        confidence = self.answer_model.probability(signals, lang) if signals is not None else float(top_lexical > 0)
        return SearchResult(
            hits=hits,
            mode=mode,
            top_dense=top_dense,
            top_lexical=top_lexical,
            took_ms=(time.perf_counter() - started) * 1000,
            terms=display,
            normalized=query,
            answerable=bool(hits) and (signals is None or confidence >= self.answerable_threshold),
            confidence=confidence,
            lang=lang,
            signals=signals,
        )

    def candidate_signals(self, query: str) -> CandidateSignals:
        """The hybrid candidates of ``query`` with each signal fusion combines, per article (best chunk).

        For offline tuning of fusion (``kbassist eval holdout``): the combination can then be
        fitted and scored in numpy without searching again. Needs an ensemble build.

        Raises:
            IndexLoadError: the build's dense scorer is not an ensemble.
        """
        if not isinstance(self.dense, EnsembleScorer):
            raise IndexLoadError(f"{self.folder}: candidate signals need an ensemble build")
        text = self.normalize(query)
        lang = detect_lang(text)
        qv = self.embedder.embed_queries([text])[0]
        bm25 = self.lexical.scores(self.analyzer.tokens(text))
        found = self._candidate_chunks(qv, bm25, lang, None, self.fusion.candidates)
        cand = self._candidates(found, qv, bm25, lang)
        use, english = self.dense.parts(qv, lang, cand.rows)
        # fmax: an article without an English vector keeps NaN, one with any keeps its best chunk.
        st = np.fmax.reduceat(english, cand.starts) if english is not None and len(cand.rows) else None
        none = np.full(len(cand.arts), np.nan, np.float32)
        st_mean = cand.mean(english) if english is not None and len(cand.rows) else none
        return CandidateSignals(
            article_ids=[self._article_ids[int(a)] for a in cand.arts],
            lang=lang,
            text=text,
            use=cand.best(use),
            st=st if st is not None else none,
            bm25=cand.best(cand.lexical),
            same_lang=cand.same_lang,
            use_mean=cand.mean(use),
            st_mean=st_mean,
        )

    def dense_candidates(self, queries: Sequence[tuple[str, Vectors, Mapping[str, Any]]]) -> list[Ids | None]:
        """The dense candidates :meth:`search` would find for each (normalised query, vector, the
        keyword arguments given to :meth:`search`), with one index search per group sharing
        filters and ``k``.

        Passing an entry on as ``dense_found`` gives the same result as searching without it:
        the scores of the candidates found are computed again exactly, per query. (A product of
        several queries may round a score in its last bit unlike a product of one, which can
        only change which of two equal-scoring chunks fills the last candidate slot.) None for
        a query that nothing is allowed for.
        """
        found: list[Ids | None] = [None] * len(queries)
        groups: dict[tuple[Filters | None, bool, int], list[int]] = {}
        for i, (_, _, options) in enumerate(queries):
            key = (
                options.get("filters"),
                options.get("include_internal", False),
                self._depth(options.get("k", DEFAULT_K)),
            )
            groups.setdefault(key, []).append(i)
        for (filters, include_internal, n), members in groups.items():
            allowed = self._masks.allowed(filters, include_internal)
            if allowed is not None and len(allowed) == 0:
                continue
            vectors = [queries[i][1] for i in members]
            langs = [detect_lang(queries[i][0]) for i in members]
            for i, ids in zip(members, self.dense.candidates_many(vectors, langs, allowed, n), strict=True):
                found[i] = ids
        return found

    def _depth(self, k: int) -> int:
        """Candidates taken from each ranker for a search of ``k`` results."""
        return max(self.fusion.candidates, k * 4)

    def _candidate_chunks(
        self,
        qv: Vectors | None,
        bm25: NDArray[np.float32] | None,
        lang: str,
        allowed: Ids | None,
        n: int,
        dense_found: Ids | None = None,
    ) -> Ids:
        """Chunk ids either ranker puts among its top ``n`` (sorted, unique)."""
        found: list[Ids] = []
        if qv is not None:
            ids = self.dense.candidates(qv, lang, allowed, n) if dense_found is None else dense_found
            found.append(ids[ids >= 0].astype(np.int64))
        if bm25 is not None:
            found.append(_lexical_top(bm25, allowed, n))
        return sorted_unique(np.concatenate(found)) if found else _NO_IDS

    def _candidates(self, found: Ids, qv: Vectors | None, bm25: NDArray[np.float32] | None, lang: str) -> _Candidates:
        """Every chunk of the articles ``found`` chunks belong to, with both rankers' scores."""
        arts = sorted_unique(self._chunk_article[found])
        rows, starts, lengths = self._chunks_of(arts)
        same_lang = self._article_lang[arts] == lang
        dense = (
            self.dense.scores(qv, lang, rows, starts, same_lang) if qv is not None else np.zeros(len(rows), np.float32)
        )
        shift = self._bridge.shift(lang, arts) if qv is not None else None
        if shift is not None:  # other-language articles without a counterpart (indexer/crosslingual.py)
            dense = dense + np.repeat(shift, lengths)
        lexical = bm25[rows] if bm25 is not None else np.zeros(len(rows), np.float32)
        return _Candidates(arts, rows, starts, same_lang, dense, lexical)

    def _rank_scores(
        self,
        mode: SearchMode,
        cand: _Candidates,
        dense_a: NDArray[np.float32],
        lex_a: NDArray[np.float32],
        top_lexical: float,
        lang: str,
        bm25: NDArray[np.float32] | None,
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The score ranking chunks within an article, and the one ranking articles, in ``mode``."""
        if mode == "dense":
            return cand.dense, dense_a
        if mode == "lexical":
            return cand.lexical, lex_a
        scorable = cand.same_lang
        if self.fusion.twin_lexical and bm25 is not None:
            twins = self._bridge.twin_lexical(lang, cand.arts, cand.same_lang, lex_a, lambda a: self._best_of(bm25, a))
            if twins is not None:  # BM25 reads one language; an article's counterpart reads it for it
                lex_a, scorable = twins
        weight = lexical_weight(dense_a, scorable, lang, self.fusion)
        fused = fuse(dense_a, lex_a, weight, top_lexical)
        if self.fusion.crosslingual_rescore and self._bridge.bilingual:
            # Increasing within the scorable articles, so each article's best chunk is the same as before.
            fused = keep_language_level(fused, dense_a, scorable)
        return fuse(cand.dense, cand.lexical, weight, top_lexical), fused

    def _chunks_of(self, arts: Ids) -> tuple[Ids, Ids, Ids]:
        """The chunks of articles ``arts``, article by article: their ids, where each article starts, how many."""
        first = self._article_bounds[arts]
        lengths = self._article_bounds[arts + 1] - first
        starts = np.cumsum(lengths) - lengths
        # Each article's run of the chunk order, concatenated without a Python loop.
        rows = self._chunk_order[np.repeat(first - starts, lengths) + np.arange(int(lengths.sum()))]
        return rows, starts, lengths

    def _best_of(self, per_chunk: NDArray[np.float32], arts: Ids) -> NDArray[np.float32]:
        """Per article of ``arts``, the best of its chunks' ``per_chunk`` scores."""
        rows, starts, _ = self._chunks_of(arts)
        return np.maximum.reduceat(per_chunk[rows], starts)

    def _hit(
        self,
        article: int,
        chunk: Chunk,
        score: float,
        dense: float | None,
        lexical: float | None,
        terms: list[str],
    ) -> Hit:
        """The hit of article ``article`` (index), shown through its best ``chunk``."""
        meta = self.articles[self._article_ids[article]]
        snippet, spans = make_snippet(plain_chunk(chunk.text, str(meta.get("lang") or "zh")), terms)
        return Hit(
            article_id=meta["id"],
            title=meta.get("title", ""),
            score=score,
            snippet=snippet,
            highlights=spans,
            chunk=chunk,
            dense_score=dense,
            lexical_score=lexical,
            meta=meta,
        )

    def _top_bm25(self, terms: list[str], allowed: Ids | None) -> float:
        """Best BM25 score of an allowed chunk: dense mode needs it for the answer probability only."""
        scores = self.lexical.scores(terms)
        if allowed is not None:
            scores = scores[allowed]
        return float(scores.max()) if len(scores) else 0.0

    @cached_property
    def titles(self) -> TitleIndex:
        """The articles' title and tag terms (built on first use)."""
        return TitleIndex([title_text(self.articles[a]) for a in self._article_ids], self.analyzer.tokens)

    @cached_property
    def normalizer(self) -> QueryNormalizer:
        """Pinyin, homophone and spelling rewrites into this build's vocabulary (built on first use)."""
        return QueryNormalizer.from_texts(
            chinese_vocabulary(self.lexical.vocabulary()),
            (c.text for c in self.chunks),
            self.analyzer.synonyms,
            self.analyzer.words,
            self.analyzer.is_word,
            self.lexical.postings,
        )

    def normalize(self, query: str) -> str:
        """``query`` as searched: a conversation's customer turns (:mod:`indexer.conversation`),
        rewritten into KB words unless ``FusionParams.normalize_queries`` is off."""
        text = search_text(query)
        return self.normalizer.normalize(text) if self.fusion.normalize_queries else text

    @property
    def answer_model(self) -> AnswerModel:
        """The answerability model calibrated for this build's embedding backend."""
        return answer_model(self.manifest.backend)

    @property
    def answerable_threshold(self) -> float:
        """The confidence (probability) below which results are flagged as not answering the query."""
        if self.fusion.answerable_threshold is not None:
            return self.fusion.answerable_threshold
        return self.answer_model.threshold


def sorted_unique(ids: Ids) -> Ids:
    """``np.unique(ids)`` for a flat array, at a third of its cost on the few hundred ids of a search."""
    ordered = np.sort(ids)
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _lexical_top(scores: NDArray[np.float32], allowed: Ids | None, n: int) -> Ids:
    """Chunk ids of the top-``n`` positive BM25 scores among allowed chunks."""
    if allowed is not None:
        masked = np.full_like(scores, -1.0)
        masked[allowed] = scores[allowed]
        scores = masked
    n = min(n, len(scores))
    if n == 0:
        return _NO_IDS
    top = np.argpartition(-scores, n - 1)[:n]
    return top[scores[top] > 0].astype(np.int64)
