"""The ONNX runtimes of the sentence-transformers backend against torch, on the real bundled model."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer import onnx_st
from indexer.embed import SentenceTransformerEmbedder
from indexer.errors import EmbedderError

pytestmark = pytest.mark.slow

TEXTS = ["How do I reset my password?", "refund to my bank card", "The parcel arrived damaged, what now?"]


@pytest.fixture(scope="module")
def torch_vectors():
    embedder = SentenceTransformerEmbedder(runtime="torch")
    return embedder.embed_documents(TEXTS), embedder.embed_queries(TEXTS)


def test_onnx_passage_vectors_equal_torch_and_int8_queries_stay_close(model_cache, torch_vectors):
    docs, queries = torch_vectors
    embedder = SentenceTransformerEmbedder(runtime="onnx-int8", cache_dir=model_cache)
    assert embedder.runtime == "onnx-int8" and embedder.model == "all-MiniLM-L6-v2" and embedder.dim == 384
    assert np.allclose(embedder.embed_documents(TEXTS), docs, atol=1e-4)
    int8 = embedder.embed_queries(TEXTS)
    cosines = (int8 * queries).sum(axis=1)
    assert cosines.min() > 0.97 and not np.allclose(int8, queries, atol=1e-4)
    fp32 = SentenceTransformerEmbedder(runtime="onnx", cache_dir=model_cache).embed_queries(TEXTS)
    assert np.allclose(fp32, queries, atol=1e-4)


def test_int8_query_vector_does_not_depend_on_its_batch(model_cache):
    embedder = SentenceTransformerEmbedder(runtime="onnx-int8", cache_dir=model_cache)
    alone = embedder.embed_queries(TEXTS[:1])
    assert np.array_equal(embedder.embed_queries(TEXTS)[:1], alone)


def test_cached_export_loads_without_torch(model_cache):
    SentenceTransformerEmbedder(runtime="onnx-int8", cache_dir=model_cache)  # make sure the export exists
    code = (
        "import sys; from pathlib import Path; from indexer.embed import SentenceTransformerEmbedder as E; "
        f"e = E(runtime='onnx-int8', cache_dir=Path({str(model_cache)!r})); e.embed_queries(['hi']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_failed_export_leaves_nothing_and_names_the_model(tmp_path, monkeypatch):
    def broken(source: str, out: Path) -> None:
        (out / "model.onnx").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnx_st, "_export", broken)
    with pytest.raises(EmbedderError, match="cannot export or load .* disk full"):
        SentenceTransformerEmbedder(runtime="onnx", cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_unsupported_layout_falls_back_to_torch(tmp_path, monkeypatch, caplog):
    def unsupported(source: str, out: Path) -> None:
        raise onnx_st.OnnxUnsupported("pooling 'max'")

    monkeypatch.setattr(onnx_st, "_export", unsupported)
    embedder = SentenceTransformerEmbedder(runtime="onnx-int8", cache_dir=tmp_path)
    assert embedder.runtime == "torch" and "no ONNX path (pooling 'max')" in caplog.text
    assert embedder.embed_queries(["hi"]).shape == (1, 384)


def test_model_key_changes_when_a_model_file_changes(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    before = onnx_st.model_key(str(tmp_path))
    assert onnx_st.model_key(str(tmp_path)) == before
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert onnx_st.model_key(str(tmp_path)) != before
    assert onnx_st.model_key("sentence-transformers/all-MiniLM-L6-v2").startswith("all-MiniLM-L6-v2-")
