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
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import Analyzer
from indexer.chunk import Chunk
from indexer.embed import Embedder, embedder_id
from indexer.errors import IndexLoadError
from indexer.layout import ARTICLES, CHUNKS, CONFIG_FILES, DENSE, LEXICAL
from indexer.lexical import LexicalIndex
from indexer.manifest import Manifest
from indexer.store import DenseIndex

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
SNIPPET_CHARS = 200


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


# Top dense cosine below which no article is trusted to answer, per embedding backend.
# Calibrated with `kbassist eval` (see eval/RESULTS.md); override with KB_ANSWERABLE_THRESHOLD.
ANSWERABLE_THRESHOLDS = {"use-multilingual": 0.30, "sentence-transformers": 0.35}
DEFAULT_ANSWERABLE_THRESHOLD = 0.30


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How hybrid search combines the two rankings (see ``indexer.config.Settings``)."""

    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 100
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
    answerable: bool = True
    confidence: float = 0.0


def copy_analyzer_files(src: Path, dst: Path) -> None:
    """Copy the dictionary and synonym files into a build so it is self-contained."""
    for name in CONFIG_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` spans of ``text`` where any term occurs (case-insensitive)."""
    words = sorted({t for t in terms if t and len(t) > 1 or (t and not t.isascii())}, key=len, reverse=True)
    if not words:
        return []
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


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
                 dense: DenseIndex, lexical: LexicalIndex, embedder: Embedder, analyzer: Analyzer,
                 fusion: FusionParams) -> None:  # fmt: skip
        self.folder = folder
        self.manifest = manifest
        self.articles = articles
        self.chunks = chunks
        self.dense = dense
        self.lexical = lexical
        self.embedder = embedder
        self.analyzer = analyzer
        self.fusion = fusion
        self._article_ids = list(articles)
        index_of = {a: i for i, a in enumerate(self._article_ids)}
        self._chunk_article = np.array([index_of[c.article_id] for c in chunks], dtype=np.int64)
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
            lexical = LexicalIndex.load(folder / LEXICAL, len(chunks))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexLoadError(f"{folder}: cannot load build: {exc}") from exc
        if dense.ntotal != len(chunks):
            raise IndexLoadError(f"{folder}: FAISS holds {dense.ntotal} vectors for {len(chunks)} chunks")
        if analyzer is None:
            analyzer = Analyzer(folder / CONFIG_FILES[0], folder / CONFIG_FILES[1])
        if analyzer.fingerprint != manifest.analyzer:
            raise IndexLoadError(f"{folder}: analyzer files do not match the manifest")
        return cls(folder, manifest, articles, chunks, dense, lexical, embedder, analyzer, fusion or FusionParams())

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

    def _dense_rank(self, vector: NDArray[np.float32], allowed: NDArray[np.int64] | None,
                    n: int) -> dict[int, tuple[float, int]]:  # fmt: skip
        """Best (score, chunk) per article index among the top-``n`` dense chunks."""
        scores, ids = self.dense.search(vector[None, :], n, allowed)
        best: dict[int, tuple[float, int]] = {}
        for s, cid in zip(scores[0].tolist(), ids[0].tolist(), strict=True):
            if cid < 0:
                continue
            a = int(self._chunk_article[cid])
            if a not in best:
                best[a] = (float(s), int(cid))
        return best

    def _lexical_rank(self, terms: Sequence[str], allowed: NDArray[np.int64] | None,
                      n: int) -> dict[int, tuple[float, int]]:  # fmt: skip
        """Best (score, chunk) per article index among the top-``n`` BM25 chunks."""
        scores = self.lexical.scores(terms)
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        n = min(n, len(scores))
        if n == 0:
            return {}
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        best: dict[int, tuple[float, int]] = {}
        for cid in top.tolist():
            s = float(scores[cid])
            if s <= 0:
                break
            a = int(self._chunk_article[cid])
            if a not in best:
                best[a] = (s, int(cid))
        return best

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid", filters: Filters | None = None,
               include_internal: bool = False) -> SearchResult:  # fmt: skip
        """Rank articles for ``query``.

        Args:
            query: the customer's message (mask PII before calling).
            k: number of articles to return.
            mode: ``hybrid``, ``dense`` or ``lexical``.
            filters: metadata restrictions applied before the top-k cut.
            include_internal: whether ``audience: internal`` articles may be returned.
        """
        started = time.perf_counter()
        allowed = self._allowed(filters, include_internal)
        n = max(self.fusion.candidates, k * 4)
        terms = self.analyzer.tokens(query)
        dense: dict[int, tuple[float, int]] = {}
        lexical: dict[int, tuple[float, int]] = {}
        if mode in ("hybrid", "dense") and (allowed is None or len(allowed)):
            vector = self.embedder.embed_queries([query])[0]
            dense = self._dense_rank(vector, allowed, n)
        if mode in ("hybrid", "lexical") and (allowed is None or len(allowed)):
            lexical = self._lexical_rank(terms, allowed, n)
        fused: dict[int, float]
        if mode == "dense":
            fused = {a: s for a, (s, _) in dense.items()}
        elif mode == "lexical":
            fused = {a: s for a, (s, _) in lexical.items()}
        else:
            fused = {}
            f = self.fusion
            for weight, ranking in ((f.dense_weight, dense), (f.lexical_weight, lexical)):
                for rank, a in enumerate(ranking):
                    fused[a] = fused.get(a, 0.0) + weight / (f.rrf_k + rank + 1)
        order = sorted(fused, key=lambda a: -fused[a])[:k]
        display_terms = [t.lstrip("#") for t in terms]
        hits = []
        for a in order:
            d, lx = dense.get(a), lexical.get(a)
            cid = (d or lx)[1] if mode != "lexical" else (lx or d)[1]  # type: ignore[index]
            chunk = self.chunks[cid]
            meta = self.articles[self._article_ids[a]]
            snippet, spans = make_snippet(chunk.text, display_terms)
            hits.append(Hit(
                article_id=meta["id"], title=meta.get("title", ""), score=float(fused[a]), snippet=snippet,
                highlights=spans, chunk=chunk, dense_score=d[0] if d else None,
                lexical_score=lx[0] if lx else None, meta=meta,
            ))  # fmt: skip
        top_dense = max((s for s, _ in dense.values()), default=0.0)
        confidence = (
            top_dense if mode != "lexical" else min(1.0, max((s for s, _ in lexical.values()), default=0.0) / 10)
        )
        return SearchResult(
            hits=hits,
            mode=mode,
            top_dense=top_dense,
            top_lexical=max((s for s, _ in lexical.values()), default=0.0),
            took_ms=(time.perf_counter() - started) * 1000,
            terms=display_terms,
            answerable=bool(hits) and confidence >= self.answerable_threshold,
            confidence=confidence,
        )

    @property
    def answerable_threshold(self) -> float:
        """The confidence below which results are flagged as not answering the query."""
        if self.fusion.answerable_threshold is not None:
            return self.fusion.answerable_threshold
        return ANSWERABLE_THRESHOLDS.get(self.manifest.backend, DEFAULT_ANSWERABLE_THRESHOLD)
