"""The on-disk format of one build folder: what is written, how it is read back, what a rebuild reuses.

A build folder holds::

    manifest.json       how the build was made (:mod:`indexer.manifest`); written last
    articles.jsonl      one article per line: its metadata and body
    chunks.jsonl        one chunk per line, with the BM25 terms it was indexed with
    vectors.npy         one vector per chunk (row i = chunk i), read memory-mapped
    dense.faiss         the FAISS index over those vectors (:mod:`indexer.store`)
    bm25/               the BM25 index over the chunks' terms (:mod:`indexer.lexical`)
    _dictionary.txt     the analyzer files of the content, copied so the build is
    _synonyms.txt       self-contained (:data:`indexer.analyzer.ANALYZER_FILES`)

This module is the only one that knows these names; the builder writes through
:func:`write_build` and checks its work through :func:`read_build`, which is how the
retriever reads a build.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.analyzer import ANALYZER_FILES
from indexer.article import Article
from indexer.chunk import Chunk
from indexer.errors import IndexLoadError
from indexer.lexical import LexicalIndex
from indexer.manifest import Manifest
from indexer.store import DenseIndex

log = logging.getLogger(__name__)

ARTICLES = "articles.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
DENSE = "dense.faiss"
LEXICAL = "bm25"
# Copied into each build: the analyzer's files, then the taxonomy the service checks filters against.
CONFIG_FILES = (*ANALYZER_FILES, "_taxonomy.yaml")


@dataclass(slots=True)
class Build:
    """Everything a build folder holds, loaded."""

    folder: Path
    manifest: Manifest
    articles: dict[str, dict[str, Any]]
    chunks: list[Chunk]
    dense: DenseIndex
    vectors: NDArray[np.float32]
    lexical: LexicalIndex


@dataclass(slots=True)
class Reusable:
    """What an earlier build holds for one article: its chunks, their vectors and (if still valid) terms."""

    chunks: list[Chunk]
    vectors: NDArray[np.float32]
    tokens: list[list[str]] | None


def write_build(
    folder: Path,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    tokens: Sequence[list[str]],
    vectors: NDArray[np.float32],
    exact_max: int,
    config: Path,
) -> str:
    """Write every file of a build except the manifest into ``folder``; return the FAISS index kind.

    Args:
        folder: an existing, empty folder.
        articles: the published articles.
        chunks: their chunks, in vector order.
        tokens: the BM25 terms of each chunk.
        vectors: one row per chunk.
        exact_max: exact FAISS search up to this many vectors (see :class:`indexer.store.DenseIndex`).
        config: the content's folder of analyzer files.
    """
    for name in CONFIG_FILES:
        if (config / name).is_file():
            shutil.copyfile(config / name, folder / name)
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


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the build in ``folder``.

    Raises:
        IndexLoadError: it is missing or unreadable.
    """
    try:
        return Manifest.read(folder)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexLoadError(f"{folder}: unreadable manifest: {exc}") from exc


def read_build(folder: Path, manifest: Manifest) -> Build:
    """Load the build in ``folder`` (whose manifest is ``manifest``); vectors stay memory-mapped.

    Raises:
        IndexLoadError: a file is missing or corrupt, or the files disagree on the number of chunks.
    """
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
    return Build(folder, manifest, articles, chunks, dense, vectors, lexical)


def read_reusable(folder: Path, manifest: Manifest, same_terms: bool) -> dict[str, Reusable]:
    """Per article content hash, what the build in ``folder`` holds for that article.

    Args:
        folder: a published build.
        manifest: its manifest.
        same_terms: whether the analyzer is unchanged, so the stored BM25 terms are still valid
            (vectors do not depend on the analyzer).

    Returns:
        Nothing (an empty dict, with a warning) when the build cannot be read.
    """
    try:
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
        log.warning("cannot reuse current build %s (%s); embedding everything", manifest.version, exc)
        return {}
    out = {}
    for article_id, rows in by_article.items():
        content_hash = manifest.article_hashes.get(article_id)
        if content_hash:
            out[content_hash] = Reusable(
                [chunks[r] for r in rows], vectors[rows], [tokens[r] for r in rows] if same_terms else None
            )
    return out
