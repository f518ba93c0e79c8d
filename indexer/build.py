"""Build a new index version from content, incrementally, and publish it atomically.

Steps: read and validate the content; reuse chunks, vectors and terms of every
article whose content hash is unchanged since the current build (same embedder,
chunk size and analyzer); embed only new or changed articles; write the build into a
temporary folder; load it back and run a smoke query; rename it into place; publish.
Until the last rename nothing the service reads has changed.
"""

from __future__ import annotations

import json
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
from indexer.errors import BuildError, KBError
from indexer.layout import ARTICLES, CHUNKS, DENSE, LEXICAL, VECTORS
from indexer.lexical import LexicalIndex
from indexer.manifest import Manifest
from indexer.parse import Problem
from indexer.private import restrict_tree
from indexer.search import copy_analyzer_files
from indexer.sources import config_dir, read_entries
from indexer.store import DenseIndex
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
class _Reusable:
    chunks: list[Chunk]
    vectors: NDArray[np.float32]
    tokens: list[list[str]] | None


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
        return Manifest.read(builds_dir(root) / version)
    except (OSError, ValueError, TypeError):
        log.warning("cannot read the manifest of current build %s; embedding everything", version)
        return None


def _reusable(root: Path, manifest: Manifest, emb_id: str, chunk_size: int, analyzer_fp: str) -> dict[str, _Reusable]:
    """Per content hash, what the current build (``manifest``) holds for that article (if compatible)."""
    version = manifest.version
    folder = builds_dir(root) / version
    try:
        if (manifest.embedder_id, manifest.chunk_size) != (emb_id, chunk_size):
            log.info("current build %s was made with another embedder or chunk size; embedding everything", version)
            return {}
        # Vectors do not depend on the analyzer: after a dictionary or synonym change only
        # the BM25 terms are recomputed.
        same_terms = manifest.analyzer == analyzer_fp
        vectors = np.load(folder / VECTORS)
        by_article: dict[str, list[int]] = {}
        chunks: list[Chunk] = []
        tokens: list[list[str]] = []
        with (folder / CHUNKS).open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                data = json.loads(line)
                chunks.append(Chunk.from_json(data))
                tokens.append(data["tokens"])
                by_article.setdefault(chunks[-1].article_id, []).append(i)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cannot reuse current build %s (%s); embedding everything", version, exc)
        return {}
    out = {}
    for article_id, rows in by_article.items():
        content_hash = manifest.article_hashes.get(article_id)
        if content_hash:
            out[content_hash] = _Reusable(
                [chunks[r] for r in rows], vectors[rows], [tokens[r] for r in rows] if same_terms else None
            )
    return out


def _embed(embedder: Embedder, texts: list[str], batch: int, progress: ProgressFn | None) -> NDArray[np.float32]:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed_documents(texts[start : start + batch]))
        if progress is not None:
            progress(min(start + batch, len(texts)), len(texts))
    if not parts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack(parts).astype(np.float32, copy=False)


def _write_build(folder: Path, articles: list[Article], chunks: list[Chunk], tokens: list[list[str]],
                 vectors: NDArray[np.float32], exact_max: int, config: Path) -> str:  # fmt: skip
    copy_analyzer_files(config, folder)
    with (folder / ARTICLES).open("w", encoding="utf-8") as fh:
        for art in articles:
            fh.write(json.dumps({**art.metadata(), "body": art.body}, ensure_ascii=False) + "\n")
    with (folder / CHUNKS).open("w", encoding="utf-8") as fh:
        for chunk, toks in zip(chunks, tokens, strict=True):
            fh.write(json.dumps({**chunk.to_json(), "tokens": toks}, ensure_ascii=False) + "\n")
    np.save(folder / VECTORS, vectors)
    dense = DenseIndex.build(vectors, exact_max)
    dense.save(folder / DENSE)
    (folder / LEXICAL).mkdir()
    LexicalIndex.build(tokens).save(folder / LEXICAL)
    return dense.kind


def _check_build(folder: Path, embedder: Embedder, analyzer: Analyzer, articles: list[Article]) -> None:
    """Load the new build back and run a smoke query; raise BuildError if anything is off."""
    from indexer.search import Retriever

    try:
        # Reuse the build's analyzer (a second jieba start costs ~0.7 s); load() still
        # checks its fingerprint against the files copied into the build.
        retriever = Retriever.load(folder, embedder, analyzer)
    except (KBError, OSError, ValueError) as exc:
        raise BuildError(f"new build does not load: {exc}") from exc
    manifest = retriever.manifest
    if retriever.n_chunks != manifest.n_chunks or len(retriever.articles) != manifest.n_articles:
        raise BuildError(
            f"new build is inconsistent: {retriever.n_chunks} chunks / {len(retriever.articles)} articles loaded, "
            f"manifest says {manifest.n_chunks} / {manifest.n_articles}"
        )
    if articles:
        probe = articles[0]
        hits = retriever.search(probe.title or probe.body[:50], k=5, include_internal=True).hits
        if not hits:
            raise BuildError(f"smoke query for article {probe.id!r} returned nothing")


def build_index(source: Path, root: Path, embedder: Embedder, options: BuildOptions,
                progress: ProgressFn | None = None) -> BuildResult:  # fmt: skip
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
        emb_id = embedder_id(embedder)
        current = _current_manifest(root)
        previous = current.article_hashes if current is not None else {}
        reuse = (
            {}
            if options.full or current is None
            else _reusable(root, current, emb_id, options.chunk_size, analyzer.fingerprint)
        )

        chunks: list[Chunk] = []
        tokens: list[list[str]] = []
        vector_parts: list[NDArray[np.float32] | None] = []
        to_embed: list[str] = []
        embed_slots: list[tuple[int, int]] = []  # (first row, count) of each article to embed
        added, changed, unchanged = [], [], []
        for art in articles:
            h = art.content_hash
            old = previous.get(art.id)
            if old is None:
                added.append(art.id)
            elif old != h:
                changed.append(art.id)
            else:
                unchanged.append(art.id)
            hit = reuse.get(h)
            if hit is not None:
                chunks.extend(hit.chunks)
                if hit.tokens is None:
                    tokens.extend(analyzer.tokens(embed_text(art.title, c)) for c in hit.chunks)
                else:
                    tokens.extend(hit.tokens)
                vector_parts.append(hit.vectors)
                continue
            pieces = chunk_article(art, options.chunk_size)
            embed_slots.append((len(to_embed), len(pieces)))
            texts = [embed_text(art.title, c) for c in pieces]
            to_embed.extend(texts)
            chunks.extend(pieces)
            tokens.extend(analyzer.tokens(t) for t in texts)
            vector_parts.append(None)
        removed = sorted(set(previous) - {a.id for a in articles})

        t_embed = time.perf_counter()
        fresh = _embed(embedder, to_embed, options.batch_size, progress)
        embed_seconds = time.perf_counter() - t_embed
        slots = iter(embed_slots)
        parts = []
        for part in vector_parts:
            if part is None:
                first, count = next(slots)
                part = fresh[first : first + count]
            parts.append(part)
        vectors = np.vstack(parts).astype(np.float32) if parts else np.zeros((0, embedder.dim), np.float32)

        version = new_version()
        tmp = builds_dir(root) / f"{TMP_PREFIX}{version}-{os.getpid()}"
        tmp.mkdir(parents=True)
        kind = _write_build(tmp, articles, chunks, tokens, vectors, options.exact_max, config_dir(source))
        seconds = time.perf_counter() - started
        manifest = Manifest(
            version=version,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            backend=embedder.backend,
            model=embedder.model,
            dimension=embedder.dim,
            embedder_id=emb_id,
            faiss_index=kind,
            chunk_size=options.chunk_size,
            analyzer=analyzer.fingerprint,
            n_articles=len(articles),
            n_chunks=len(chunks),
            seconds=round(seconds, 3),
            article_hashes={a.id: a.content_hash for a in articles},
            counts={
                "added": len(added), "changed": len(changed), "removed": len(removed),
                "unchanged": len(unchanged), "embedded_chunks": len(to_embed),
                "skipped_articles": len({p.path for p in report.errors}),
            },
        )  # fmt: skip
        manifest.write(tmp)
        restrict_tree(tmp)
        _check_build(tmp, embedder, analyzer, articles)
        final = builds_dir(root) / version
        os.replace(tmp, final)
        publish(root, version)
        prune(root, options.keep_builds)
        log.info("published %s: %d articles, %d chunks", version, len(articles), len(chunks))
        return BuildResult(
            version=version, added=added, changed=changed, removed=removed, unchanged=unchanged,
            n_articles=len(articles), n_chunks=len(chunks), embedded_chunks=len(to_embed),
            seconds=time.perf_counter() - started, faiss_index=kind, problems=report.problems,
            embed_seconds=embed_seconds,
        )  # fmt: skip
