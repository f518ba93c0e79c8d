"""Run evaluation queries through a cached index and score every configuration.

An index for a dataset is built once per (content, embedder, chunk size, analyzer)
under ``$KB_DATA_DIR/eval-cache/<key>``; a repeated run loads it and embeds nothing
but the queries. The key also covers the source of the chunking and analysis code,
so numbers never come from tokens or chunks an older version produced.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import indexer.analyzer
import indexer.chunk
import indexer.lexical
from eval.data import Query, ScoredDoc
from eval.datasets import Dataset
from eval.metrics import MEASURES, mean_measures, measure, no_answer_detection
from eval.stats import percentile
from indexer.analyzer import Analyzer
from indexer.build import BuildOptions, build_index
from indexer.config import SearchMode, Settings
from indexer.embed import Embedder, embedder_id
from indexer.factory import fusion_from
from indexer.search import Retriever
from indexer.sources import config_dir
from indexer.versions import current_build, current_version

log = logging.getLogger(__name__)

CACHE = "eval-cache"
TOP_K = 10
EmbedderFactory = Callable[[Settings, int | None], Embedder]


@dataclass(slots=True)
class QueryResult:
    """What one configuration returned for one query."""

    query: Query
    ranking: list[str]
    answerable: bool
    took_ms: float


@dataclass(slots=True)
class RunReport:
    """Scores of one (backend, mode) configuration, in the ``--json`` shape plus per-query detail."""

    mode: str
    backend: str
    model: str
    results: list[QueryResult] = field(default_factory=list)

    def scored(self) -> list[QueryResult]:
        """Results of the answerable (judged) queries."""
        return [r for r in self.results if r.query.answerable]

    def metrics(self, lang: str | None = None) -> dict[str, float]:
        """Mean ranking measures over judged queries (of one language if given)."""
        pairs = [(r.ranking, r.query.relevant_ids) for r in self.scored() if lang in (None, r.query.lang)]
        return mean_measures(pairs, MEASURES)

    def per_query(self, name: str) -> dict[str, float]:
        """Value of measure ``name`` for each judged query id."""
        return {r.query.query_id: measure(name, r.ranking, r.query.relevant_ids) for r in self.scored()}

    def to_json(self) -> dict[str, object]:
        """The run in the documented ``--json`` shape."""
        langs = sorted({r.query.lang for r in self.scored()})
        has_negatives = any(not r.query.answerable for r in self.results)
        latencies = [r.took_ms for r in self.results]
        return {
            "mode": self.mode,
            "backend": self.backend,
            "model": self.model,
            "metrics": _rounded(self.metrics()),
            "by_lang": {lang: _rounded(self.metrics(lang)) for lang in langs},
            "answerable": _rounded(
                no_answer_detection([r.answerable for r in self.results], [r.query.answerable for r in self.results])
            )
            if has_negatives
            else None,
            "latency_ms": {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3)},
        }

    def run_docs(self) -> list[ScoredDoc]:
        """The judged queries' rankings as TREC run records."""
        return [
            ScoredDoc(r.query.query_id, doc, 1.0 / rank) for r in self.scored() for rank, doc in enumerate(r.ranking, 1)
        ]


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def content_digest(source: Path) -> str:
    """Hash of an articles file, or of every file of a content folder (hidden ones skipped)."""
    h = hashlib.sha256()
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        rel = path.name if source.is_file() else path.relative_to(source).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue
        h.update(rel.encode())
        h.update(b"\x00")
        h.update(path.read_bytes())
        h.update(b"\x00")
    return h.hexdigest()


def _code_digest() -> str:
    """Hash of the code that turns articles into chunks and terms."""
    h = hashlib.sha256()
    for module in (indexer.analyzer, indexer.chunk, indexer.lexical):
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()


def cache_key(source: Path, emb_id: str, chunk_size: int) -> str:
    """Cache folder name for one dataset content and index configuration."""
    analyzer = Analyzer.for_content(config_dir(source)).fingerprint
    h = hashlib.sha256()
    for part in (content_digest(source), emb_id, str(chunk_size), analyzer, _code_digest()):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:20]


def cached_retriever(source: Path, settings: Settings, make_embedder: EmbedderFactory) -> Retriever:
    """Load the cached index of ``source`` for ``settings``, building it first on a cache miss.

    Args:
        source: articles file or content folder.
        settings: embedding backend/model, chunk size and fusion parameters.
        make_embedder: ``(settings, threads)`` -> embedder; a build uses two threads.
    """
    embedder = make_embedder(settings, None)
    root = settings.data_dir / CACHE / cache_key(source, embedder_id(embedder), settings.chunk_size)
    if current_version(root) is None:
        log.info("indexing %s with %s into %s", source, embedder_id(embedder), root)
        options = BuildOptions(
            chunk_size=settings.chunk_size,
            exact_max=settings.exact_index_max_vectors,
            keep_builds=1,
            batch_size=settings.embed_batch_size,
            full=True,
        )
        build_embedder = make_embedder(settings, max(2, settings.embed_threads))
        result = build_index(source, root, build_embedder, options)
        for problem in result.problems:
            if problem.severity == "error":
                log.warning("while indexing for evaluation: %s", problem)
    else:
        log.info("reusing cached index %s", root)
    return Retriever.load(current_build(root), embedder, fusion=fusion_from(settings))


def run_queries(retriever: Retriever, queries: Sequence[Query], mode: SearchMode) -> RunReport:
    """Search every query in ``mode`` and collect rankings, answerable flags and latencies."""
    report = RunReport(mode, retriever.manifest.backend, retriever.manifest.model)
    for q in queries:
        res = retriever.search(q.text, k=TOP_K, mode=mode, include_internal=True)
        report.results.append(QueryResult(q, [h.article_id for h in res.hits], res.answerable, res.took_ms))
    return report


def evaluate(
    dataset: Dataset,
    settings: Settings,
    backends: Sequence[str],
    modes: Sequence[SearchMode],
    make_embedder: EmbedderFactory,
) -> list[RunReport]:
    """Every backend × mode configuration on ``dataset``, in that order."""
    reports = []
    for backend in backends:
        backend_settings = settings.model_copy(update={"embedding_backend": backend})
        retriever = cached_retriever(dataset.articles, backend_settings, make_embedder)
        for mode in modes:
            reports.append(run_queries(retriever, dataset.queries, mode))
            log.info("%s/%s done on %s", backend, mode, dataset.name)
    return reports
