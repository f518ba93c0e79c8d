"""The build folder format: write, read back, reuse."""

import numpy as np
import pytest

from indexer.analyzer import ANALYZER_FILES, Analyzer
from indexer.build import load_content
from indexer.chunk import chunk_article, embed_text
from indexer.errors import IndexLoadError
from indexer.layout import VECTORS, read_build, read_manifest, read_reusable, write_build
from indexer.manifest import Manifest


def _write(kb_dir, folder, embedder):
    articles = [a for a in load_content(kb_dir).articles if a.status == "published"]
    analyzer = Analyzer.for_content(kb_dir)
    chunks = [c for a in articles for c in chunk_article(a, 120)]
    title = {a.id: a.title for a in articles}
    texts = [embed_text(title[c.article_id], c) for c in chunks]
    vectors = embedder.embed_documents(texts)
    folder.mkdir()
    kind = write_build(folder, articles, chunks, [analyzer.tokens(t) for t in texts], vectors, 100, kb_dir)
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


def test_reusable_parts_are_keyed_by_content_hash_and_drop_stale_terms(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    articles, chunks, vectors, manifest = _write(kb_dir, folder, fake_embedder)
    reuse = read_reusable(folder, manifest, same_terms=True)
    assert set(reuse) == {a.content_hash for a in articles}
    first = reuse[articles[0].content_hash]
    rows = [i for i, c in enumerate(chunks) if c.article_id == articles[0].id]
    assert first.chunks == [chunks[i] for i in rows] and first.tokens is not None
    np.testing.assert_array_equal(first.vectors, vectors[rows])
    assert all(r.tokens is None for r in read_reusable(folder, manifest, same_terms=False).values())


def test_unreadable_builds_fail_with_the_folder_named(kb_dir, tmp_path, fake_embedder):
    folder = tmp_path / "build"
    _write(kb_dir, folder, fake_embedder)
    manifest = read_manifest(folder)
    np.save(folder / VECTORS, np.zeros((1, 64), np.float32))
    with pytest.raises(IndexLoadError, match="vectors for"):
        read_build(folder, manifest)
    (folder / VECTORS).unlink()
    assert read_reusable(folder, manifest, same_terms=True) == {}
    with pytest.raises(IndexLoadError, match=str(folder)):
        read_build(folder, manifest)
    (folder / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="unreadable manifest"):
        read_manifest(folder)
