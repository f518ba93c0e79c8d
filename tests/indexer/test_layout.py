"""The build folder format: write, read back, reuse."""

from collections import Counter

import numpy as np
import pytest

from indexer.analyzer import ANALYZER_FILES, Analyzer
from indexer.build import load_content
from indexer.chunk import chunk_article, embed_text
from indexer.errors import IndexLoadError
from indexer.layout import (
    CARDS,
    VECTORS,
    chunk_line,
    read_build,
    read_manifest,
    read_previous,
    write_build,
    write_cards,
)
from indexer.manifest import Manifest
from indexer.terms import ChunkTerms


def _write(kb_dir, folder, embedder):
    articles = [a for a in load_content(kb_dir).articles if a.status == "published"]
    analyzer = Analyzer.for_content(kb_dir)
    chunks = [c for a in articles for c in chunk_article(a, 120)]
    title = {a.id: a.title for a in articles}
    texts = [embed_text(title[c.article_id], c) for c in chunks]
    vectors = embedder.embed_documents(texts)
    folder.mkdir()
    terms = ChunkTerms.from_lists([analyzer.tokens(t) for t in texts])
    blocks = [vectors[i : i + 5] for i in range(0, len(vectors), 5)]
    lines = [chunk_line(c) for c in chunks]
    kind = write_build(folder, articles, lines, terms, blocks, vectors.shape[1], 100, kb_dir).kind
    manifest = Manifest(
        version="v1",
        built_at="now",
        backend="fake",
        model="m",
        dimension=vectors.shape[1],
        embedder_id="fake:m:64",
        faiss_index=kind,
        chunk_size=120,
        analyzer=analyzer.fingerprint,
        n_articles=len(articles),
        n_chunks=len(chunks),
        seconds=0.0,
        article_hashes={a.id: a.content_hash for a in articles},
    )
    manifest.write(folder)
    return articles, chunks, vectors, manifest


def test_written_build_reads_back_whole_and_self_contained(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    articles, chunks, vectors, manifest = _write(kb_dir, folder, fake_embedder)
    build = read_build(folder, read_manifest(folder))
    assert build.manifest == manifest
    assert list(build.articles) == [a.id for a in articles] and build.chunks == chunks
    np.testing.assert_array_equal(build.vectors, vectors)
    assert build.dense.ntotal == len(chunks) and build.lexical.n_docs == len(chunks)
    assert all((folder / name).is_file() for name in ANALYZER_FILES)
    assert Analyzer.for_content(folder).fingerprint == manifest.analyzer


def test_previous_build_rows_are_keyed_by_content_hash_and_drop_stale_terms(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    articles, chunks, vectors, manifest = _write(kb_dir, folder, fake_embedder)
    previous = read_previous(folder, manifest, same_terms=True)
    assert previous is not None and set(previous.rows) == {a.content_hash for a in articles}
    start, stop = previous.rows[articles[0].content_hash]
    rows = [i for i, c in enumerate(chunks) if c.article_id == articles[0].id]
    assert list(range(start, stop)) == rows and previous.chunks == [chunk_line(c) for c in chunks]
    np.testing.assert_array_equal(previous.vectors[start:stop], vectors[rows])
    analyzer = Analyzer.for_content(kb_dir)
    title = {a.id: a.title for a in articles}
    assert previous.terms is not None
    assert [previous.terms.counter(i) for i in rows] == [
        Counter(analyzer.tokens(embed_text(title[chunks[i].article_id], chunks[i])) or ["\u2205"]) for i in rows
    ]
    stale = read_previous(folder, manifest, same_terms=False)
    assert stale is not None and stale.terms is None


def test_unreadable_builds_fail_with_the_folder_named(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    _write(kb_dir, folder, fake_embedder)
    manifest = read_manifest(folder)
    np.save(folder / VECTORS, np.zeros((1, 64), np.float32))
    with pytest.raises(IndexLoadError, match="vectors for"):
        read_build(folder, manifest)
    (folder / VECTORS).unlink()
    assert read_previous(folder, manifest, same_terms=True) is None
    with pytest.raises(IndexLoadError, match=str(folder)):
        read_build(folder, manifest)
    (folder / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="unreadable manifest"):
        read_manifest(folder)


def test_cards_read_back_when_written_and_are_none_otherwise(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    articles, *_ = _write(kb_dir, folder, fake_embedder)
    assert read_build(folder, read_manifest(folder)).cards is None
    cards = fake_embedder.embed_documents([a.title for a in articles])
    write_cards(folder, cards)
    np.testing.assert_array_equal(read_build(folder, read_manifest(folder)).cards, cards)


def test_cards_of_another_number_of_articles_fail_to_load(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    articles, *_ = _write(kb_dir, folder, fake_embedder)
    write_cards(folder, fake_embedder.embed_documents([a.title for a in articles[1:]]))
    with pytest.raises(IndexLoadError, match=CARDS):
        read_build(folder, read_manifest(folder))
