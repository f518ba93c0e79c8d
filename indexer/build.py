"""Build a new index version from content, incrementally, and publish it atomically.

Steps: read and validate the content; reuse chunks, vectors and terms of every
article whose content hash is unchanged since the current build (same embedder,
chunk size and analyzer); embed only new or changed articles; write the build into a
temporary folder; load it back and run a smoke query; rename it into place; publish.
Until the last rename nothing the service reads has changed.

Past the ~300-line guide because the steps of that one pipeline (plan, embed, write,
check, publish, and rollback, its inverse) read best next to each other; the build
folder's format itself is :mod:`indexer.layout`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import Analyzer
from indexer.article import Article
from indexer.chunk import Chunk, chunk_article, embed_text
from indexer.embed import Embedder, embedder_id
from indexer.errors import BuildError, IndexLoadError, KBError
from indexer.lang import detect_lang
from indexer.layout import Reusable, read_build, read_manifest, read_reusable, write_build
from indexer.manifest import Manifest
from indexer.parse import Problem
from indexer.private import restrict_tree
from indexer.sources import config_dir, read_entries
from indexer.validate import Report, Vocabulary, validate
from indexer.versions import (
    TMP_PREFIX,
    build_lock,
    builds_dir,
    clean_stale_tmp,
    current_version,
    prune,
    publish,
)

log = logging.getLogger(__name__)


ProgressFn = Callable[[int, int], None]


@dataclass(slots=True)
class BuildOptions:
    """How to build: sizes and switches that change what is produced."""

    chunk_size: int = 360
    exact_max: int = 100_000
    keep_builds: int = 5
    batch_size: int = 64
    full: bool = False
    strict: bool = False
    csv_map: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class BuildResult:
    """What a build did."""

    version: str
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    n_articles: int
    n_chunks: int
    embedded_chunks: int
    seconds: float
    faiss_index: str
    problems: list[Problem]
    embed_seconds: float = 0.0


@dataclass(slots=True)
class _Plan:
    """What the new build holds, article by article, before anything is embedded.

    ``vector_parts`` has one entry per article: the reused vectors, or None where the
    article's chunks are among ``to_embed`` (at the ``embed_slots`` position, in order).
    """

    chunks: list[Chunk] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    vector_parts: list[NDArray[np.float32] | None] = field(default_factory=list)
    to_embed: list[str] = field(default_factory=list)
    embed_slots: list[tuple[int, int]] = field(default_factory=list)  # (first row, count) per article to embed
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def new_version() -> str:
    """A build name that sorts by build time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def load_content(source: Path, csv_map: dict[str, str] | None = None) -> Report:
    """Read and validate a content source (see :func:`indexer.sources.read_entries`)."""
    entries = read_entries(source, csv_map)
    return validate(entries, Vocabulary.load(config_dir(source)))


def _current_manifest(root: Path) -> Manifest | None:
    """The manifest of the published build, or None (nothing published, or unreadable)."""
    version = current_version(root)
    if version is None:
        return None
    try:
        return read_manifest(builds_dir(root) / version)
    except IndexLoadError:
        log.warning("cannot read the manifest of current build %s; embedding everything", version)
        return None


def _reusable(root: Path, manifest: Manifest, emb_id: str, chunk_size: int, analyzer_fp: str) -> dict[str, Reusable]:
    """Per content hash, what the current build (``manifest``) holds for that article (if compatible)."""
    if (manifest.embedder_id, manifest.chunk_size) != (emb_id, chunk_size):
        log.info(
            "current build %s was made with another embedder or chunk size; embedding everything", manifest.version
        )
        return {}
    return read_reusable(builds_dir(root) / manifest.version, manifest, same_terms=manifest.analyzer == analyzer_fp)


def _embed(embedder: Embedder, texts: list[str], batch: int, progress: ProgressFn | None) -> NDArray[np.float32]:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed_documents(texts[start : start + batch]))
        if progress is not None:
            progress(min(start + batch, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts).astype(np.float32, copy=False)


def _check_build(folder: Path, embedder: Embedder, analyzer: Analyzer, articles: list[Article]) -> None:
    """Read the new build back as the service will and run a smoke query; raise BuildError if anything is off.

    The build is read through :func:`indexer.layout.read_build` and queried with the
    embedder's own dense scorer and the BM25 index, so a build that cannot serve a query
    is never published.
    """
    try:
        manifest = read_manifest(folder)
        build = read_build(folder, manifest)
    except (KBError, OSError, ValueError) as exc:
        raise BuildError(f"new build does not load: {exc}") from exc
    if len(build.chunks) != manifest.n_chunks or len(build.articles) != manifest.n_articles:
        raise BuildError(
            f"new build is inconsistent: {len(build.chunks)} chunks / {len(build.articles)} articles loaded, "
            f"manifest says {manifest.n_chunks} / {manifest.n_articles}"
        )
    orphans = sorted({c.article_id for c in build.chunks} - build.articles.keys())
    if orphans:
        raise BuildError(f"new build has chunks of articles it does not hold: {orphans[:5]}")
    if articles:
        probe = articles[0]
        query = probe.title or probe.body[:50]
        scorer = embedder.dense_scorer(build.dense, np.asarray(build.vectors))
        dense_ids = scorer.candidates(embedder.embed_queries([query])[0], detect_lang(query), None, 5)
        lexical = build.lexical.scores(analyzer.tokens(query))
        if not np.any(dense_ids >= 0) and not np.any(lexical > 0):
            raise BuildError(f"smoke query for article {probe.id!r} returned nothing")


def build_index(
    source: Path, root: Path, embedder: Embedder, options: BuildOptions, progress: ProgressFn | None = None
) -> BuildResult:
    """Build, check and publish a new index version.

    Args:
        source: content folder or export file.
        root: index root (see :mod:`indexer.versions`).
        embedder: the dense backend.
        options: sizes and switches.
        progress: called with ``(done, total)`` chunks while embedding.

    Returns:
        What changed and how long it took.

    Raises:
        BuildLocked: another build is running.
        BuildError: invalid content under ``--strict``, or the new build failed its checks.
    """
    started = time.perf_counter()
    with build_lock(root):
        clean_stale_tmp(root)
        report = load_content(source, options.csv_map)
        if options.strict and report.errors:
            raise BuildError(f"{len(report.errors)} content error(s) and --strict is set; nothing was published")
        articles = [a for a in report.articles if a.status == "published"]
        if not articles:
            raise BuildError(f"no valid published article in {source}; nothing was published")
        analyzer = Analyzer.for_content(config_dir(source))
        plan = _plan(root, articles, embedder, analyzer, options)

        t_embed = time.perf_counter()
        vectors = _vectors(plan, _embed(embedder, plan.to_embed, options.batch_size, progress), embedder.dim)
        embed_seconds = time.perf_counter() - t_embed

        version = new_version()
        tmp = builds_dir(root) / f"{TMP_PREFIX}{version}-{os.getpid()}"
        tmp.mkdir(parents=True)
        kind = write_build(tmp, articles, plan.chunks, plan.tokens, vectors, options.exact_max, config_dir(source))
        _manifest(version, embedder, kind, analyzer, options, articles, plan, report, started).write(tmp)
        restrict_tree(tmp)
        _check_build(tmp, embedder, analyzer, articles)

        os.replace(tmp, builds_dir(root) / version)
        publish(root, version)
        prune(root, options.keep_builds)
        log.info("published %s: %d articles, %d chunks", version, len(articles), len(plan.chunks))
        return BuildResult(
            version=version,
            added=plan.added,
            changed=plan.changed,
            removed=plan.removed,
            unchanged=plan.unchanged,
            n_articles=len(articles),
            n_chunks=len(plan.chunks),
            embedded_chunks=len(plan.to_embed),
            seconds=time.perf_counter() - started,
            faiss_index=kind,
            problems=report.problems,
            embed_seconds=embed_seconds,
        )


def _plan(root: Path, articles: list[Article], embedder: Embedder, analyzer: Analyzer, options: BuildOptions) -> _Plan:
    """Compare ``articles`` with the published build: what changed, what is reused, what must be embedded."""
    current = _current_manifest(root)
    previous = current.article_hashes if current is not None else {}
    reuse = (
        {}
        if options.full or current is None
        else _reusable(root, current, embedder_id(embedder), options.chunk_size, analyzer.fingerprint)
    )
    plan = _Plan()
    for art in articles:
        h = art.content_hash
        old = previous.get(art.id)
        if old is None:
            plan.added.append(art.id)
        elif old != h:
            plan.changed.append(art.id)
        else:
            plan.unchanged.append(art.id)
        hit = reuse.get(h)
        if hit is not None:
            plan.chunks.extend(hit.chunks)
            if hit.tokens is None:
                plan.tokens.extend(analyzer.tokens(embed_text(art.title, c)) for c in hit.chunks)
            else:
                plan.tokens.extend(hit.tokens)
            plan.vector_parts.append(hit.vectors)
            continue
        pieces = chunk_article(art, options.chunk_size)
        plan.embed_slots.append((len(plan.to_embed), len(pieces)))
        texts = [embed_text(art.title, c) for c in pieces]
        plan.to_embed.extend(texts)
        plan.chunks.extend(pieces)
        plan.tokens.extend(analyzer.tokens(t) for t in texts)
        plan.vector_parts.append(None)
    plan.removed = sorted(set(previous) - {a.id for a in articles})
    return plan


def _vectors(plan: _Plan, fresh: NDArray[np.float32], dim: int) -> NDArray[np.float32]:
    """Every chunk's vector in plan order: reused ones, and the ``fresh`` ones where the plan embedded."""
    slots = iter(plan.embed_slots)
    parts = []
    for part in plan.vector_parts:
        if part is None:
            first, count = next(slots)
            part = fresh[first : first + count]
        parts.append(part)
    return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)


def _manifest(
    version: str,
    embedder: Embedder,
    kind: str,
    analyzer: Analyzer,
    options: BuildOptions,
    articles: list[Article],
    plan: _Plan,
    report: Report,
    started: float,
) -> Manifest:
    """The manifest of the new build."""
    return Manifest(
        version=version,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        backend=embedder.backend,
        model=embedder.model,
        dimension=embedder.dim,
        embedder_id=embedder_id(embedder),
        faiss_index=kind,
        chunk_size=options.chunk_size,
        analyzer=analyzer.fingerprint,
        n_articles=len(articles),
        n_chunks=len(plan.chunks),
        seconds=round(time.perf_counter() - started, 3),
        article_hashes={a.id: a.content_hash for a in articles},
        counts={
            "added": len(plan.added),
            "changed": len(plan.changed),
            "removed": len(plan.removed),
            "unchanged": len(plan.unchanged),
            "embedded_chunks": len(plan.to_embed),
            "skipped_articles": len({p.path for p in report.errors}),
        },
    )
