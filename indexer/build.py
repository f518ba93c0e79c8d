"""Build a new index version from content, incrementally, and publish it atomically.

Steps: read and validate the content (Markdown files whose bytes are unchanged since the
last build are not parsed again: :mod:`indexer.parsecache`); reuse chunks, vectors and terms of every
article whose content hash is unchanged since the current build (same embedder,
chunk size and analyzer); embed only new or changed articles, streaming their vectors
into the new build's files as they come; write the build into a temporary folder; load
it back and run a smoke query; rename it into place; publish. Until the last rename
nothing the service reads has changed.

Past the ~300-line guide because the steps of that one pipeline (plan, embed, write,
check, publish, and rollback, its inverse) read best next to each other; the build
folder's format itself is :mod:`indexer.layout`.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import Analyzer
from indexer.article import Article
from indexer.calibration import calibrated_use_weight
from indexer.chunk import Chunk, chunk_article, embed_text
from indexer.crosslingual import bridged_languages, card_text, multilingual_model
from indexer.embed import Embedder, Vectors, embedder_id
from indexer.errors import BuildError, IndexLoadError, KBError
from indexer.layout import (
    CARD_KEYS,
    CARDS,
    TITLE_QUERIES,
    TITLE_QUERY_KEYS,
    VECTORS,
    Previous,
    TextVectors,
    Written,
    chunk_line,
    file_digest,
    read_indexes,
    read_manifest,
    read_previous,
    read_text_vectors,
    text_key,
    write_build,
    write_cards,
    write_text_vectors,
)
from indexer.manifest import Manifest
from indexer.parse import Problem
from indexer.parsecache import CACHE_FILE as PARSE_CACHE
from indexer.parsecache import ParseCache
from indexer.private import restrict_tree
from indexer.sources import config_dir, read_entries
from indexer.terms import TermsBuilder
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


# Rows of vectors copied from the previous build per block (bounded memory, few FAISS calls).
_COPY_BLOCK = 4096


@dataclass(slots=True)
class _Plan:
    """What the new build holds, article by article, before anything is embedded.

    ``runs`` lists where the chunks' vectors come from, in chunk order: ``(True, start,
    count)`` copies rows of the previous build, ``(False, start, count)`` takes rows of
    the embeddings of ``to_embed``.
    """

    terms: TermsBuilder
    chunks: list[str] = field(default_factory=list)  # lines of chunks.jsonl
    chunk_articles: list[str] = field(default_factory=list)  # the article id of each
    runs: list[tuple[bool, int, int]] = field(default_factory=list)
    to_embed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def add_run(self, reused: bool, start: int, count: int) -> None:
        """Append ``count`` rows, merged into the last run when they continue it."""
        if self.runs:
            last_reused, last_start, last_count = self.runs[-1]
            if last_reused == reused and last_start + last_count == start:
                self.runs[-1] = (reused, last_start, last_count + count)
                return
        self.runs.append((reused, start, count))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration of a build.

    A build creates hundreds of thousands of long-lived objects (articles, chunk lines,
    parsed JSON) and almost no reference cycles; the collector's full passes over them took
    over half the time of reading a 10k-article KB. Memory freed by reference counting is
    freed as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def new_version() -> str:
    """A build name that sorts by build time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def load_content(source: Path, csv_map: dict[str, str] | None = None, cache: ParseCache | None = None) -> Report:
    """Read and validate a content source (see :func:`indexer.sources.read_entries`)."""
    entries = read_entries(source, csv_map, cache)
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


def _previous(root: Path, manifest: Manifest, emb_id: str, chunk_size: int, analyzer_fp: str) -> Previous | None:
    """What the current build (``manifest``) holds for a rebuild to reuse, if it is compatible."""
    if (manifest.embedder_id, manifest.chunk_size) != (emb_id, chunk_size):
        log.info(
            "current build %s was made with another embedder or chunk size; embedding everything", manifest.version
        )
        return None
    return read_previous(builds_dir(root) / manifest.version, manifest, same_terms=manifest.analyzer == analyzer_fp)


class _Embedding:
    """Embeds the plan's texts batch by batch, on demand, timing the embedder."""

    def __init__(self, embedder: Embedder, texts: list[str], batch: int, progress: ProgressFn | None) -> None:
        self._embedder, self._texts, self._batch, self._progress = embedder, texts, batch, progress
        self._done = 0
        self._pending = np.zeros((0, embedder.dim), np.float32)
        self.seconds = 0.0

    def take(self, count: int) -> Iterator[NDArray[np.float32]]:
        """The next ``count`` vectors, in blocks."""
        while count:
            if not len(self._pending):
                texts = self._texts[self._done : self._done + self._batch]
                started = time.perf_counter()
                self._pending = np.asarray(self._embedder.embed_documents(texts), dtype=np.float32)
                self.seconds += time.perf_counter() - started
                self._done += len(texts)
                if self._progress is not None:
                    self._progress(self._done, len(self._texts))
            block, self._pending = self._pending[:count], self._pending[count:]
            count -= len(block)
            yield block


def _vector_blocks(plan: _Plan, previous: Previous | None, fresh: _Embedding) -> Iterator[NDArray[np.float32]]:
    """Every chunk's vector in plan order, in blocks: copied from the previous build or embedded now."""
    for reused, start, count in plan.runs:
        if not reused:
            yield from fresh.take(count)
            continue
        assert previous is not None  # the plan reuses rows only when there is a previous build
        for first in range(start, start + count, _COPY_BLOCK):
            yield previous.vectors[first : min(first + _COPY_BLOCK, start + count)]


def _check_build(
    folder: Path, written: Written, embedder: Embedder, analyzer: Analyzer, articles: list[Article], plan: _Plan
) -> None:
    """Read the new build back and run a smoke query; raise BuildError if anything is off.

    The JSON Lines files are read back whole and must hash to what was written (they were
    serialised from the plan, whose chunks all belong to published articles); the FAISS,
    vector and BM25 files are loaded as the service loads them and answer a smoke query.
    So a build that cannot serve a query is never published, and the check costs one read
    of each file rather than parsing every article and chunk again.
    """
    orphans = sorted(set(plan.chunk_articles) - {a.id for a in articles})
    if orphans:
        raise BuildError(f"new build has chunks of articles it does not hold: {orphans[:5]}")
    try:
        manifest = read_manifest(folder)
        on_disk = {name: file_digest(folder / name) for name in written.digests}
        dense, _vectors, lexical = read_indexes(folder, manifest.n_chunks, mapped=True)
    except (KBError, OSError, ValueError) as exc:
        raise BuildError(f"new build does not load: {exc}") from exc
    changed = sorted(name for name, digest in written.digests.items() if on_disk[name] != digest)
    if changed or (manifest.n_chunks, manifest.n_articles) != (len(plan.chunks), len(articles)):
        raise BuildError(
            f"new build is inconsistent: {', '.join(changed) or 'manifest'} not as written "
            f"({len(plan.chunks)} chunks / {len(articles)} articles planned, "
            f"manifest says {manifest.n_chunks} / {manifest.n_articles})"
        )
    if articles:
        # The first article's title should find its own chunks. Searching among them only reads
        # those vectors of the mapped index, not all of them (a 100k build's end is its memory peak).
        probe = articles[0]
        query = probe.title or probe.body[:50]
        own = np.array([i for i, a in enumerate(plan.chunk_articles) if a == probe.id], np.int64)
        _scores, dense_ids = dense.search(embedder.embed_queries([query]), 5, allowed=own)
        if not np.any(dense_ids >= 0) and not np.any(lexical.scores(analyzer.tokens(query)) > 0):
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
    with build_lock(root), _collector_paused():
        clean_stale_tmp(root)
        parses = ParseCache(root / PARSE_CACHE, reuse=not options.full)
        report = load_content(source, options.csv_map, parses)
        parses.save()
        if options.strict and report.errors:
            raise BuildError(f"{len(report.errors)} content error(s) and --strict is set; nothing was published")
        articles = [a for a in report.articles if a.status == "published"]
        if not articles:
            raise BuildError(f"no valid published article in {source}; nothing was published")
        analyzer = Analyzer.for_content(config_dir(source))
        current = _current_manifest(root)
        previous = _previous_build(root, current, embedder, analyzer, options)
        plan = _plan(current, articles, analyzer, options, previous)
        fresh = _Embedding(embedder, plan.to_embed, options.batch_size, progress)
        blocks = _vector_blocks(plan, previous, fresh)

        version = new_version()
        tmp = builds_dir(root) / f"{TMP_PREFIX}{version}-{os.getpid()}"
        tmp.mkdir(parents=True)
        terms = plan.terms.finish()
        written = write_build(
            tmp, articles, plan.chunks, terms, blocks, embedder.dim, options.exact_max, config_dir(source)
        )
        before = builds_dir(root) / previous.version if previous is not None else None
        del previous, blocks, terms
        manifest = _manifest(version, embedder, written.kind, analyzer, options, articles, plan, report, started)
        titles = _Reusing(embedder.embed_queries, _stored(before, TITLE_QUERIES, TITLE_QUERY_KEYS), options.batch_size)
        manifest.ensemble_use_weight = _use_weight(tmp, embedder, articles, plan, titles)
        if titles.texts:
            write_text_vectors(tmp, TITLE_QUERIES, TITLE_QUERY_KEYS, titles.texts, titles.vectors)
        _write_cards(tmp, embedder, articles, plan, _stored(before, CARDS, CARD_KEYS), options.batch_size)
        manifest.write(tmp)
        restrict_tree(tmp)
        _check_build(tmp, written, embedder, analyzer, articles, plan)

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
            faiss_index=written.kind,
            problems=report.problems,
            embed_seconds=fresh.seconds,
        )


def _previous_build(
    root: Path, current: Manifest | None, embedder: Embedder, analyzer: Analyzer, options: BuildOptions
) -> Previous | None:
    """The published build (``current``) to reuse, unless ``--full`` or there is none (or it does not fit)."""
    if options.full or current is None:
        return None
    return _previous(root, current, embedder_id(embedder), options.chunk_size, analyzer.fingerprint)


def _plan(
    current: Manifest | None,
    articles: list[Article],
    analyzer: Analyzer,
    options: BuildOptions,
    previous: Previous | None,
) -> _Plan:
    """Compare ``articles`` with the published build: what changed, what is reused, what must be embedded."""
    before = current.article_hashes if current is not None else {}
    reuse = previous.rows if previous is not None else {}
    plan = _Plan(TermsBuilder(previous.terms if previous is not None else None))
    for art in articles:
        h = art.content_hash
        old = before.get(art.id)
        if old is None:
            plan.added.append(art.id)
        elif old != h:
            plan.changed.append(art.id)
        else:
            plan.unchanged.append(art.id)
        rows = reuse.get(h)
        if previous is not None and rows is not None:
            start, stop = rows
            plan.chunks.extend(previous.chunks[start:stop])
            plan.chunk_articles.extend([art.id] * (stop - start))
            if previous.terms is None:
                kept = [Chunk.from_json(json.loads(line)) for line in previous.chunks[start:stop]]
                plan.terms.add_tokens([analyzer.tokens(embed_text(art.title, c)) for c in kept])
            else:
                plan.terms.add_rows(start, stop)
            plan.add_run(True, start, stop - start)
            continue
        pieces = chunk_article(art, options.chunk_size)
        texts = [embed_text(art.title, c) for c in pieces]
        plan.add_run(False, len(plan.to_embed), len(pieces))
        plan.to_embed.extend(texts)
        plan.chunks.extend(chunk_line(c) for c in pieces)
        plan.chunk_articles.extend(c.article_id for c in pieces)
        plan.terms.add_tokens([analyzer.tokens(t) for t in texts])
    plan.removed = sorted(set(before) - {a.id for a in articles})
    return plan


class _Reusing:
    """An embedding function that takes a text's vector from the previous build when it embedded that text.

    The cards and calibration titles of every article are embedded on each build, not only
    those of changed articles: without this, a one-article publish of a 10k bilingual KB
    would embed 10k cards again. Keeps what it returned last (``texts``, ``vectors``) to be
    stored for the next build.
    """

    def __init__(
        self, embed: Callable[[Sequence[str]], Vectors], previous: TextVectors | None, batch: int = 64
    ) -> None:
        self._embed, self._previous, self._batch = embed, previous, batch
        self.texts: list[str] = []
        self.vectors: Vectors = np.zeros((0, 0), np.float32)
        self.embedded = 0

    def __call__(self, texts: Sequence[str]) -> Vectors:
        texts = list(texts)
        known = self._previous.rows if self._previous is not None else {}
        found = [known.get(text_key(t)) for t in texts]
        missing = [i for i, row in enumerate(found) if row is None]
        out: Vectors | None = None
        # Batch by batch into the result: a 100k-article build's cards are 200 MB, once.
        for first in range(0, len(missing), self._batch):
            part = missing[first : first + self._batch]
            fresh = np.asarray(self._embed([texts[i] for i in part]), np.float32)
            if out is None:
                out = np.empty((len(texts), fresh.shape[1]), np.float32)
            out[part] = fresh
        if out is None:
            if self._previous is None:  # no text at all
                return np.asarray(self._embed(texts), np.float32)
            out = np.empty((len(texts), self._previous.vectors.shape[1]), np.float32)
        hits = [(i, row) for i, row in enumerate(found) if row is not None]
        if hits:
            assert self._previous is not None
            out[[i for i, _ in hits]] = self._previous.vectors[[row for _, row in hits]]
        self.texts, self.vectors, self.embedded = texts, out, len(missing)
        return out


def _stored(folder: Path | None, name: str, keys_name: str) -> TextVectors | None:
    """The texts' vectors the previous build (``folder``; None: nothing to reuse) stored under ``name``."""
    return read_text_vectors(folder, name, keys_name) if folder is not None else None


def _use_weight(
    folder: Path, embedder: Embedder, articles: list[Article], plan: _Plan, embed_titles: _Reusing
) -> float | None:
    """The KB's own USE weight for English queries, from the written vectors (:mod:`indexer.calibration`)."""
    index = {a.id: i for i, a in enumerate(articles)}
    chunk_article = np.array([index[a] for a in plan.chunk_articles], np.int64)
    vectors = np.load(folder / VECTORS, mmap_mode="r")
    meta = [{"title": a.title, "lang": a.lang} for a in articles]
    return calibrated_use_weight(embedder, meta, chunk_article, vectors, embed_queries=embed_titles)


def _write_cards(
    folder: Path, embedder: Embedder, articles: list[Article], plan: _Plan, previous: TextVectors | None, batch: int
) -> None:
    """Write the articles' card vectors when the build is bilingual (:mod:`indexer.crosslingual`)."""
    lang = {a.id: a.lang for a in articles}
    model = multilingual_model(embedder)
    if model is None or bridged_languages(np.array([lang[a] for a in plan.chunk_articles])) is None:
        return
    embed = _Reusing(model.embed_documents, previous, batch)
    texts = [card_text({"title": a.title, "tags": a.tags}) for a in articles]
    write_cards(folder, embed(texts), texts)
    log.info("cards: %d of %d embedded, the rest reused", embed.embedded, len(texts))


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
