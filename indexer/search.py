"""Search a published build: dense (FAISS), lexical (BM25) or hybrid (rank fusion).

Results are articles, not chunks: an article scores by its best chunk in each
ranking, and that chunk becomes the snippet. Filters and the internal-audience rule
are applied inside each ranker before its top-k cut.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import Analyzer
from indexer.answerable import ANSWER_MODELS, AnswerModel, Signals, measure_signals
from indexer.chunk import Chunk
from indexer.config import SearchMode
from indexer.embed import Embedder, Vectors, embedder_id
from indexer.errors import IndexLoadError
from indexer.lang import CJK_CHARS, detect_lang
from indexer.layout import ARTICLES, CHUNKS, CONFIG_FILES, DENSE, LEXICAL, VECTORS
from indexer.lexical import LexicalIndex
from indexer.manifest import Manifest
from indexer.normalize import QueryNormalizer
from indexer.plaintext import plain_chunk
from indexer.store import DenseIndex

SNIPPET_CHARS = 200
# Chinese BM25 terms the normaliser may map to: jieba words and "@"-marked single characters.
_CJK_TERM_RE = re.compile(f"@?[{CJK_CHARS}]+")


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict results by article metadata; each set given must contain the article's value."""

    category: frozenset[str] = frozenset()
    product: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    channel: frozenset[str] = frozenset()

    @classmethod
    def of(cls, category: Iterable[str] = (), product: Iterable[str] = (), tags: Iterable[str] = (),
           channel: Iterable[str] = ()) -> Filters:  # fmt: skip
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


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How hybrid search combines the dense and lexical scores of an article.

    ``score = dense + c · bm25 / max(bm25)`` with a per-query lexical weight
    ``c = min(lexical_weight / max(gap, 0.001), lexical_cap)``, where ``gap`` is the
    dense score of the best article minus that of the 10th. A confident dense ranking
    (large gap: paraphrase-style FAQs) leaves BM25 as a tie-breaker; a flat one (long
    answer articles, where one vector per passage dilutes the meaning) hands the
    decision to BM25. Measured with ``kbassist eval`` on the public sets (eval/RESULTS.md):
    fixed weights could not serve both baoxianzhidao (wants c≈0.8) and bq_intents /
    tianchi (want c≈0.15); plain RRF never beat its best component.

    In ensemble builds, English queries score English passages by
    ``(use_weight · cos_use + st_weight · cos_st) / (use_weight + st_weight)`` and every
    other passage by ``cos_use``; Chinese queries use ``cos_use`` alone.
    """

    lexical_weight: float = 0.03
    lexical_weight_en: float = 0.02
    lexical_cap: float = 1.0
    use_weight: float = 0.35
    st_weight: float = 1.0
    candidates: int = 100
    normalize_queries: bool = True
    answerable_threshold: float | None = None


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


def copy_analyzer_files(src: Path, dst: Path) -> None:
    """Copy the dictionary, synonym and taxonomy files into a build so it is self-contained."""
    for name in CONFIG_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of the terms worth marking, longest first (built once per query)."""
    words = sorted({t for t in terms if t and len(t) > 1 or (t and not t.isascii())}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans of ``text`` where any term occurs (case-insensitive)."""
    pattern = _terms_pattern(tuple(terms))
    return [(m.start(), m.end()) for m in pattern.finditer(text)] if pattern is not None else []


def make_snippet(text: str, terms: Sequence[str], size: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` of at most ``size`` characters around the first matched term."""
    text = " ".join(text.split())
    spans = highlight_spans(text, terms)
    if len(text) <= size:
        return text, spans
    start = max(0, spans[0][0] - size // 4) if spans else 0
    end = min(len(text), start + size)
    start = max(0, end - size)
    window = text[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shifted = [(a - start + len(prefix), b - start + len(prefix)) for a, b in spans if a >= start and b <= end]
    return prefix + window + suffix, shifted


class Retriever:
    """A loaded build plus the embedder and analyzer that query it."""

    def __init__(self, folder: Path, manifest: Manifest, articles: dict[str, dict[str, Any]], chunks: list[Chunk],
                 dense: DenseIndex, vectors: NDArray[np.float32], lexical: LexicalIndex, embedder: Embedder,
                 analyzer: Analyzer, fusion: FusionParams) -> None:  # fmt: skip
        self.folder = folder
        self.manifest = manifest
        self.articles = articles
        self.chunks = chunks
        self.dense = dense
        # A plain view of the (memory-mapped) matrix: indexing a np.memmap costs ~0.1 ms a query more.
        self.vectors = np.asarray(vectors)
        self.lexical = lexical
        self.embedder = embedder
        self.analyzer = analyzer
        self.fusion = fusion
        self._article_ids = list(articles)
        index_of = {a: i for i, a in enumerate(self._article_ids)}
        self._chunk_article = np.array([index_of[c.article_id] for c in chunks], dtype=np.int64)
        order = np.argsort(self._chunk_article, kind="stable")
        bounds = np.searchsorted(self._chunk_article[order], np.arange(len(self._article_ids) + 1))
        self._article_chunks = [order[bounds[i] : bounds[i + 1]] for i in range(len(self._article_ids))]
        self._article_lang = np.array([str(articles[a].get("lang") or "") for a in self._article_ids])
        self._split: int | None = getattr(embedder, "split", None)
        if self._split is not None:
            self._has_st = np.linalg.norm(vectors[:, self._split :], axis=1) > 0
        self._allowed_cache: dict[tuple[Filters, bool], NDArray[np.int64] | None] = {}

    @property
    def version(self) -> str:
        """The build's version name."""
        return self.manifest.version

    @property
    def n_chunks(self) -> int:
        """Number of chunks in the build."""
        return len(self.chunks)

    @classmethod
    def load(cls, folder: Path, embedder: Embedder, analyzer: Analyzer | None = None,
             fusion: FusionParams | None = None) -> Retriever:  # fmt: skip
        """Load a build directory.

        Raises:
            IndexLoadError: files are missing or corrupt, or the build was made with
                another embedding model than ``embedder``.
        """
        try:
            manifest = Manifest.read(folder)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexLoadError(f"{folder}: unreadable manifest: {exc}") from exc
        if manifest.embedder_id != embedder_id(embedder):
            raise IndexLoadError(
                f"{folder} was built with {manifest.embedder_id}, but the service uses {embedder_id(embedder)}; "
                "rebuild with `kbassist index --full` or set KB_EMBEDDING_BACKEND/KB_EMBEDDING_MODEL to match"
            )
        try:
            articles: dict[str, dict[str, Any]] = {}
            with (folder / ARTICLES).open(encoding="utf-8") as fh:
                for line in fh:
                    data = json.loads(line)
                    articles[data["id"]] = data
            chunks = []
            with (folder / CHUNKS).open(encoding="utf-8") as fh:
                for line in fh:
                    chunks.append(Chunk.from_json(json.loads(line)))
            dense = DenseIndex.load(folder / DENSE)
            vectors = np.load(folder / VECTORS, mmap_mode="r")
            lexical = LexicalIndex.load(folder / LEXICAL, len(chunks))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexLoadError(f"{folder}: cannot load build: {exc}") from exc
        if dense.ntotal != len(chunks) or len(vectors) != len(chunks):
            raise IndexLoadError(
                f"{folder}: FAISS holds {dense.ntotal} and vectors.npy {len(vectors)} vectors for {len(chunks)} chunks"
            )
        if analyzer is None:
            analyzer = Analyzer(folder / CONFIG_FILES[0], folder / CONFIG_FILES[1])
        if analyzer.fingerprint != manifest.analyzer:
            raise IndexLoadError(f"{folder}: analyzer files do not match the manifest")
        return cls(folder, manifest, articles, chunks, dense, vectors, lexical, embedder, analyzer,
                   fusion or FusionParams())  # fmt: skip

    def _allowed(self, filters: Filters | None, include_internal: bool) -> NDArray[np.int64] | None:
        """Chunk ids that pass the filters (None = all chunks)."""
        filters = filters or Filters()
        key = (filters, include_internal)
        if key not in self._allowed_cache:
            if filters == Filters() and include_internal:
                allowed = None
            else:
                ok = np.array([
                    (include_internal or meta.get("audience") != "internal") and filters.accepts(meta)
                    for meta in self.articles.values()
                ], dtype=bool)  # fmt: skip
                allowed = np.flatnonzero(ok[self._chunk_article]).astype(np.int64)
            if len(self._allowed_cache) > 256:
                self._allowed_cache.clear()
            self._allowed_cache[key] = allowed
        return self._allowed_cache[key]

    def _dense_candidates(
        self, qv: NDArray[np.float32], lang: str, allowed: NDArray[np.int64] | None, n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32] | None]:
        """Candidate chunk ids from FAISS, and the query parts used for exact scoring."""
        split = self._split
        if split is None:
            return self.dense.search(qv[None, :], n, allowed)[1][0], qv, None
        use_part = qv.copy()
        use_part[split:] = 0
        st_part = qv[split:] if lang == "en" and np.any(qv[split:]) else None
        queries = [use_part]
        if st_part is not None:
            weighted = qv.copy()
            weighted[:split] *= self.fusion.use_weight
            weighted[split:] *= self.fusion.st_weight
            queries.append(weighted)
        ids = self.dense.search(np.stack(queries), n, allowed)[1]
        return ids.ravel(), use_part[:split], st_part

    def _dense_scores(self, rows: NDArray[np.int64], starts: NDArray[np.int64], arts: NDArray[np.int64],
                      use_q: NDArray[np.float32], st_q: NDArray[np.float32] | None,
                      lang: str) -> NDArray[np.float32]:  # fmt: skip
        """Exact dense score of chunk ``rows`` (grouped by article ``arts`` at ``starts``)."""
        vecs = self.vectors[rows]
        split = self._split
        if split is None:
            return np.asarray(vecs @ use_q, dtype=np.float32)
        cu = np.asarray(vecs[:, :split] @ use_q, dtype=np.float32)
        if st_q is None or not len(rows):
            return cu
        # The English model can only score English passages. Trust it in proportion to
        # the share of query-language articles in USE's top 10, so that in a bilingual
        # KB an English question whose answer is a Chinese article is not pushed aside.
        top10 = np.argsort(-np.maximum.reduceat(cu, starts), kind="stable")[:10]
        f = self.fusion
        st_weight = f.st_weight * float(np.mean(self._article_lang[arts[top10]] == lang))
        if st_weight == 0:
            return cu
        cm = vecs[:, split:] @ st_q
        mixed = (f.use_weight * cu + st_weight * cm) / (f.use_weight + st_weight)
        return np.asarray(np.where(self._has_st[rows], mixed, cu), dtype=np.float32)

    def _lexical_top(self, scores: NDArray[np.float32], allowed: NDArray[np.int64] | None,
                     n: int) -> NDArray[np.int64]:  # fmt: skip
        """Chunk ids of the top-``n`` positive BM25 scores among allowed chunks."""
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        n = min(n, len(scores))
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, n - 1)[:n]
        return top[scores[top] > 0].astype(np.int64)

    def _top_bm25(self, terms: Sequence[str], allowed: NDArray[np.int64] | None) -> float:
        """Best BM25 score of an allowed chunk: dense mode needs it for the answer probability only."""
        scores = self.lexical.scores(terms)
        if allowed is not None:
            scores = scores[allowed]
        return float(scores.max()) if len(scores) else 0.0

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid", filters: Filters | None = None,
               include_internal: bool = False, query_vector: Vectors | None = None) -> SearchResult:  # fmt: skip
        """Rank articles for ``query``.

        Args:
            query: the customer's message (mask PII before calling).
            k: number of articles to return.
            mode: ``hybrid``, ``dense`` or ``lexical``.
            filters: metadata restrictions applied before the top-k cut.
            include_internal: whether ``audience: internal`` articles may be returned.
            query_vector: ``self.embedder.embed_queries([self.normalize(query)])[0]`` when the
                caller has it already (the service embeds concurrent queries in one batch).
        """
        started = time.perf_counter()
        query = self.normalize(query)
        allowed = self._allowed(filters, include_internal)
        n = max(self.fusion.candidates, k * 4)
        lang = detect_lang(query)
        terms = self.analyzer.tokens(query)
        use_dense = mode in ("hybrid", "dense")
        use_lexical = mode in ("hybrid", "lexical")
        empty = allowed is not None and len(allowed) == 0
        candidate_chunks: list[NDArray[np.int64]] = []
        use_q: NDArray[np.float32] | None = None
        st_q: NDArray[np.float32] | None = None
        if use_dense and not empty:
            qv = self.embedder.embed_queries([query])[0] if query_vector is None else query_vector
            ids, use_q, st_q = self._dense_candidates(qv, lang, allowed, n)
            candidate_chunks.append(ids[ids >= 0].astype(np.int64))
        bm25 = self.lexical.scores(terms) if use_lexical and not empty else None
        if bm25 is not None:
            candidate_chunks.append(self._lexical_top(bm25, allowed, n))
        found = np.unique(np.concatenate(candidate_chunks)) if candidate_chunks else np.zeros(0, np.int64)
        arts = np.unique(self._chunk_article[found])
        rows = np.concatenate([self._article_chunks[a] for a in arts]) if len(arts) else np.zeros(0, np.int64)
        owner = self._chunk_article[rows]
        # Rows are grouped by article, in ``arts`` order; ``starts`` marks each group.
        starts = np.searchsorted(owner, arts) if len(rows) else np.zeros(0, np.int64)
        dense_c = (
            self._dense_scores(rows, starts, arts, use_q, st_q, lang)
            if use_q is not None
            else np.zeros(len(rows), np.float32)
        )
        lex_c = bm25[rows] if bm25 is not None else np.zeros(len(rows), np.float32)
        dense_a = np.maximum.reduceat(dense_c, starts) if len(rows) else np.zeros(0, np.float32)
        lex_a = np.maximum.reduceat(lex_c, starts) if len(rows) else np.zeros(0, np.float32)
        top_dense = float(dense_a.max()) if use_q is not None and len(dense_a) else 0.0
        top_lexical = float(lex_a.max()) if len(lex_a) else 0.0
        if mode == "dense":
            weight, chunk_score, fused = 0.0, dense_c, dense_a
        elif mode == "lexical":
            weight, chunk_score, fused = 0.0, lex_c, lex_a
        else:
            top10 = np.argsort(-dense_a, kind="stable")[:10]
            gap = float(dense_a[top10[0]] - dense_a[top10[-1]]) if len(top10) else 0.0
            base = self.fusion.lexical_weight_en if lang == "en" else self.fusion.lexical_weight
            weight = min(base / max(gap, 1e-3), self.fusion.lexical_cap)
            # BM25 only matches articles written in the query's language, so it would push
            # same-language articles over an answer in the other language. It takes part
            # only when at least 9 of the dense top 10 are in the query's language (always,
            # in a one-language KB). Golden set, ensemble hybrid: cross-lingual queries
            # R@5/MRR@10 0.369/0.283 (weight scaled by that share) -> 0.600/0.419 (gate);
            # all queries 0.625/0.748 -> 0.674/0.764.
            if len(top10):
                weight *= float(np.mean(self._article_lang[arts[top10]] == lang) >= 0.9)
            norm = top_lexical if top_lexical > 0 else 1.0
            chunk_score = dense_c + weight * lex_c / norm
            fused = dense_a + weight * lex_a / norm
        if mode == "lexical":
            keep = lex_a > 0
            arts, fused, starts = arts[keep], fused[keep], starts[keep]
        order = np.argsort(-fused, kind="stable")[:k]
        display_terms = [t.lstrip("#") for t in terms if not t.startswith("@")]
        hits = []
        ends = np.append(starts[1:], len(rows)) if len(starts) else starts
        for i in order.tolist():
            a = int(arts[i])
            span = slice(int(starts[i]), int(ends[i]))
            best_row = int(rows[span][int(np.argmax(chunk_score[span]))])
            chunk = self.chunks[best_row]
            meta = self.articles[self._article_ids[a]]
            snippet, spans = make_snippet(plain_chunk(chunk.text, str(meta.get("lang") or "zh")), display_terms)
            hits.append(Hit(
                article_id=meta["id"], title=meta.get("title", ""), score=float(fused[i]), snippet=snippet,
                highlights=spans, chunk=chunk, dense_score=float(dense_a[i]) if use_q is not None else None,
                lexical_score=float(lex_a[i]) if bm25 is not None else None, meta=meta,
            ))  # fmt: skip
        signals = None
        if use_q is not None:
            top_chunks = self._article_chunks[int(arts[order[0]])] if len(order) else np.zeros(0, np.int64)
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
            terms=display_terms,
            normalized=query,
            answerable=bool(hits) and (signals is None or confidence >= self.answerable_threshold),
            confidence=confidence,
            lang=lang,
            signals=signals,
        )

    @cached_property
    def normalizer(self) -> QueryNormalizer:
        """Pinyin, homophone and spelling rewrites into this build's vocabulary (built on first use)."""
        chinese: dict[str, int] = {}
        for term, df in self.lexical.vocabulary().items():
            if _CJK_TERM_RE.fullmatch(term):  # a character is both a word and an "@" unigram: keep the larger count
                chinese[term.lstrip("@")] = max(df, chinese.get(term.lstrip("@"), 0))
        texts = (c.text for c in self.chunks)
        return QueryNormalizer.from_texts(chinese, texts, self.analyzer.synonyms, self.analyzer.words,
                                       self.analyzer.is_word, self.lexical.postings)  # fmt: skip

    def normalize(self, query: str) -> str:
        """``query`` as searched: rewritten into KB words unless ``FusionParams.normalize_queries`` is off."""
        return self.normalizer.normalize(query) if self.fusion.normalize_queries else query

    @property
    def answer_model(self) -> AnswerModel:
        """The answerability model calibrated for this build's embedding backend."""
        return ANSWER_MODELS.get(self.manifest.backend, ANSWER_MODELS["ensemble"])

    @property
    def answerable_threshold(self) -> float:
        """The confidence (probability) below which results are flagged as not answering the query."""
        if self.fusion.answerable_threshold is not None:
            return self.fusion.answerable_threshold
        return self.answer_model.threshold
