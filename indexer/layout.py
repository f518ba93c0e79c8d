"""The on-disk format of one build folder: what is written, how it is read back, what a rebuild reuses.

A build folder holds::

    manifest.json       how the build was made (:mod:`indexer.manifest`); written last
    articles.jsonl      one article per line: its metadata and body
    chunks.jsonl        one chunk per line
    vectors.npy         one vector per chunk (row i = chunk i), read memory-mapped
    cards.npy           bilingual builds only: one multilingual vector per article (row i =
                        line i of articles.jsonl) of its title and tags (:mod:`indexer.crosslingual`)
    dense.faiss         the FAISS index over those vectors (:mod:`indexer.store`)
    bm25/               the BM25 index over the chunks' terms (:mod:`indexer.lexical`), with
                        every chunk's term counts (:mod:`indexer.terms`) for a rebuild to reuse
    _dictionary.txt     the analyzer files of the content, copied so the build is
    _synonyms.txt       self-contained (:data:`indexer.analyzer.ANALYZER_FILES`)

This module is the only one that knows these names; the builder writes through
:func:`write_build` and checks its work through :func:`read_build`, which is how the
retriever reads a build.

Format 1 builds (before :data:`indexer.manifest.FORMAT_VERSION` 2) kept each chunk's
terms as strings in ``chunks.jsonl`` and no term ids: they still load, and a rebuild
reuses their vectors and reads their terms from there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
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
from indexer.terms import ChunkTerms

log = logging.getLogger(__name__)

ARTICLES = "articles.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
CARDS = "cards.npy"
# The texts embedded besides the chunks, one key per row of their vectors (see :class:`TextVectors`).
CARD_KEYS = "cards.keys"
TITLE_QUERIES = "titles.npy"
TITLE_QUERY_KEYS = "titles.keys"
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
    cards: NDArray[np.float32] | None = None


@dataclass(slots=True)
class Previous:
    """What a published build holds, for a rebuild to reuse.

    ``chunks`` are the lines of its ``chunks.jsonl`` (:func:`chunk_line`), which an unchanged
    article's chunks keep as they are. ``rows`` maps an article's content hash to the rows
    ``[start, stop)`` of its chunks (chunks, vectors and terms share row numbers). ``terms``
    is None when the analyzer changed since (the terms must be made again; vectors do not
    depend on it).
    """

    version: str
    chunks: list[str]
    vectors: NDArray[np.float32]
    terms: ChunkTerms | None
    rows: dict[str, tuple[int, int]]


@dataclass(slots=True)
class Written:
    """What :func:`write_build` wrote: the FAISS index kind and the SHA-256 of each JSON Lines file."""

    kind: str
    digests: dict[str, str]


def chunk_line(chunk: Chunk) -> str:
    """The line of ``chunks.jsonl`` that holds ``chunk`` (without its newline)."""
    return json.dumps(chunk.to_json(), ensure_ascii=False)


_ARTICLE_ID_KEY = '{"article_id": '
_decoder = json.JSONDecoder()


def line_article(line: str) -> str:
    """The article id of a ``chunks.jsonl`` line, decoding only that key when it comes first (it does)."""
    if line.startswith(_ARTICLE_ID_KEY):
        value, _ = _decoder.raw_decode(line, len(_ARTICLE_ID_KEY))
        return str(value)
    return str(json.loads(line)["article_id"])


def _write_lines(path: Path, lines: Iterable[str]) -> str:
    """Write ``lines`` (each without its newline) to ``path``; return the SHA-256 of the file."""
    digest = hashlib.sha256()
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            text = line + "\n"
            digest.update(text.encode("utf-8"))
            fh.write(text)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_build(
    folder: Path,
    articles: Sequence[Article],
    chunks: Sequence[str],
    terms: ChunkTerms,
    vectors: Iterable[NDArray[np.float32]],
    dim: int,
    exact_max: int,
    config: Path,
) -> Written:
    """Write every file of a build except the manifest into ``folder``.

    Vectors arrive in blocks and go straight to ``vectors.npy`` and FAISS, so the build
    never holds a second copy of them (the embedder can stream them as it makes them).

    Args:
        folder: an existing, empty folder.
        articles: the published articles.
        chunks: their chunks' lines (:func:`chunk_line`), in vector order.
        terms: the BM25 terms of each chunk.
        vectors: the chunks' vectors as consecutive blocks of rows, ``len(chunks)`` rows in all.
        dim: their dimension.
        exact_max: exact FAISS search up to this many vectors (see :class:`indexer.store.DenseIndex`).
        config: the content's folder of analyzer files.
    """
    for name in CONFIG_FILES:
        if (config / name).is_file():
            shutil.copyfile(config / name, folder / name)
    digests = {
        ARTICLES: _write_lines(
            folder / ARTICLES, (json.dumps({**a.metadata(), "body": a.body}, ensure_ascii=False) for a in articles)
        ),
        CHUNKS: _write_lines(folder / CHUNKS, chunks),
    }
    dense = DenseIndex.create(len(chunks), dim, exact_max)
    rows = 0
    with (folder / VECTORS).open("wb") as fh:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False}
        np.lib.format.write_array_header_1_0(fh, {**header, "shape": (len(chunks), dim)})
        for block in vectors:
            block = np.ascontiguousarray(block, dtype=np.float32)
            fh.write(block.data)
            dense.add(block)
            rows += len(block)
    if rows != len(chunks):
        raise ValueError(f"{rows} vectors written for {len(chunks)} chunks")
    dense.save(folder / DENSE)
    kind = dense.kind
    del dense  # FAISS holds a copy of every vector: free it before the build is read back
    (folder / LEXICAL).mkdir()
    LexicalIndex.from_terms(terms).save(folder / LEXICAL)
    return Written(kind, digests)


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
    except (OSError, ValueError, KeyError) as exc:
        raise IndexLoadError(f"{folder}: cannot load build: {exc}") from exc
    dense, vectors, lexical = read_indexes(folder, len(chunks))
    return Build(folder, manifest, articles, chunks, dense, vectors, lexical, read_cards(folder, len(articles)))


def write_cards(folder: Path, cards: NDArray[np.float32], texts: Sequence[str] | None = None) -> None:
    """Write the articles' card vectors (row i = article i of ``articles.jsonl``), keyed by their texts if given."""
    np.save(folder / CARDS, np.ascontiguousarray(cards, dtype=np.float32))
    if texts is not None:
        write_text_keys(folder / CARD_KEYS, texts)


@dataclass(frozen=True, slots=True)
class TextVectors:
    """Vectors a build embedded besides its chunks (article cards, calibration titles), by text.

    A rebuild reuses the vector of every text it embedded before instead of embedding it
    again (only with the same embedder: :func:`read_text_vectors` is given the previous
    build only when its embedder is this one). ``rows`` maps :func:`text_key` of a text
    to its row of ``vectors``.
    """

    rows: dict[str, int]
    vectors: NDArray[np.float32]


def text_key(text: str) -> str:
    """The key of an embedded text: a digest, so the keys file stays small and holds no content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def write_text_keys(path: Path, texts: Sequence[str]) -> None:
    """One :func:`text_key` per line, in row order."""
    path.write_text("".join(text_key(t) + "\n" for t in texts), encoding="ascii")


def write_text_vectors(
    folder: Path, name: str, keys_name: str, texts: Sequence[str], vectors: NDArray[np.float32]
) -> None:
    """Write ``vectors`` (row i embeds ``texts[i]``) and their keys."""
    np.save(folder / name, np.ascontiguousarray(vectors, dtype=np.float32))
    write_text_keys(folder / keys_name, texts)


def read_text_vectors(folder: Path, name: str, keys_name: str) -> TextVectors | None:
    """The keyed vectors a build stored under ``name``, or None (none stored, or unreadable: embed again)."""
    try:
        keys = (folder / keys_name).read_text(encoding="ascii").split()
        vectors = np.load(folder / name, mmap_mode="r")
    except (OSError, ValueError) as exc:
        log.debug("no reusable %s in %s: %s", name, folder, exc)
        return None
    if vectors.ndim != 2 or len(vectors) != len(keys):
        log.warning(
            "%s: %s holds %d rows for %d keys; embedding its texts again", folder, name, len(vectors), len(keys)
        )
        return None
    return TextVectors({k: i for i, k in enumerate(keys)}, vectors)


def read_cards(folder: Path, n_articles: int) -> NDArray[np.float32] | None:
    """The build's card vectors, or None when it has none (one language, or made before cards existed).

    Raises:
        IndexLoadError: the file is unreadable or holds another number of articles.
    """
    path = folder / CARDS
    if not path.is_file():
        return None
    try:
        cards = np.load(path)
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"{folder}: cannot load {CARDS}: {exc}") from exc
    if cards.ndim != 2 or len(cards) != n_articles:
        raise IndexLoadError(f"{folder}: {CARDS} holds {len(cards)} cards for {n_articles} articles")
    return np.asarray(cards, np.float32)


def read_indexes(
    folder: Path, n_chunks: int, mapped: bool = False
) -> tuple[DenseIndex, NDArray[np.float32], LexicalIndex]:
    """The FAISS index, the memory-mapped vectors and the BM25 index of a build of ``n_chunks`` chunks.

    ``mapped``: the FAISS index's vectors memory-mapped too (see :meth:`DenseIndex.load`).

    Raises:
        IndexLoadError: a file is missing or corrupt, or holds another number of chunks.
    """
    try:
        dense = DenseIndex.load(folder / DENSE, mapped)
        vectors = np.load(folder / VECTORS, mmap_mode="r")
        lexical = LexicalIndex.load(folder / LEXICAL, n_chunks)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexLoadError(f"{folder}: cannot load build: {exc}") from exc
    if dense.ntotal != n_chunks or len(vectors) != n_chunks:
        raise IndexLoadError(
            f"{folder}: FAISS holds {dense.ntotal} and vectors.npy {len(vectors)} vectors for {n_chunks} chunks"
        )
    return dense, vectors, lexical


def read_previous(folder: Path, manifest: Manifest, same_terms: bool) -> Previous | None:
    """What the build in ``folder`` (whose manifest is ``manifest``) holds for a rebuild to reuse.

    Args:
        folder: a published build.
        manifest: its manifest.
        same_terms: whether the analyzer is unchanged, so the stored BM25 terms are still valid.

    Returns:
        None (with a warning) when the build cannot be read.
    """
    try:
        vectors = np.load(folder / VECTORS, mmap_mode="r")
        chunks = (folder / CHUNKS).read_text(encoding="utf-8").splitlines()
        articles = [line_article(line) for line in chunks]
        old_tokens: list[list[str]] = []
        if chunks and '"tokens": ' in chunks[0]:  # format 1: terms as strings in each line
            for i, line in enumerate(chunks):
                data = json.loads(line)
                old_tokens.append(data.pop("tokens"))
                chunks[i] = chunk_line(Chunk.from_json(data))
        terms = _previous_terms(folder, manifest, old_tokens, len(chunks)) if same_terms else None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cannot reuse current build %s (%s); embedding everything", manifest.version, exc)
        return None
    if len(vectors) != len(chunks):
        log.warning(
            "current build %s holds %d vectors for %d chunks; embedding everything",
            manifest.version,
            len(vectors),
            len(chunks),
        )
        return None
    rows: dict[str, tuple[int, int]] = {}
    split: set[str] = set()  # articles whose chunks are not contiguous (our builds never write one): not reused
    start = 0
    for i in range(1, len(articles) + 1):
        if i == len(articles) or articles[i] != articles[start]:
            content_hash = manifest.article_hashes.get(articles[start], "")
            if content_hash in rows:
                split.add(content_hash)
            elif content_hash:
                rows[content_hash] = (start, i)
            start = i
    for content_hash in split:
        del rows[content_hash]
    return Previous(manifest.version, chunks, vectors, terms, rows)


def _previous_terms(folder: Path, manifest: Manifest, old_tokens: list[list[str]], n_chunks: int) -> ChunkTerms | None:
    """The stored terms of a build's chunks: its term ids, or (format 1) the strings in its chunks."""
    try:
        terms = LexicalIndex.read_terms(folder / LEXICAL)
    except FileNotFoundError:
        if len(old_tokens) != n_chunks:
            return None
        log.info("current build %s predates stored term ids: its terms are read from %s", manifest.version, CHUNKS)
        return ChunkTerms.from_lists(old_tokens)
    if terms.n_docs != n_chunks:
        raise ValueError(f"{terms.n_docs} chunks of terms for {n_chunks} chunks")
    return terms
