"""Shared fixtures: settings pointing at tmp dirs, a fake embedder and a tiny KB."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from indexer.config import Settings
from indexer.dense import CosineScorer
from indexer.store import DenseIndex

DATA = Path(__file__).parent / "data"
KB_MINI = DATA / "kb_mini"


class FakeEmbedder:
    """Deterministic bag-of-characters vectors: texts sharing characters are close.

    Counts calls so tests can assert what was (not) embedded.
    """

    backend = "fake"
    model = "fake-chars"
    dim = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for ch in text.lower():
            if not ch.isspace():
                v[int(hashlib.md5(ch.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1.0 / np.sqrt(self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return np.array([self._vec(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self._vec(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def dense_scorer(self, index: DenseIndex, vectors: np.ndarray) -> CosineScorer:
        return CosineScorer(index, vectors)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that leaves new files world-writable: file modes must not depend on it."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A writable copy of the tiny test KB."""
    dst = tmp_path / "kb"
    shutil.copytree(KB_MINI, dst)
    return dst


@pytest.fixture
def settings(tmp_path: Path, kb_dir: Path) -> Settings:
    return Settings(content_dir=kb_dir, data_dir=tmp_path / "data")


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One ONNX model cache for the whole run: the export (~10 s) happens once, not per test."""
    path = tmp_path_factory.mktemp("models")
    old = os.environ.get("KB_MODEL_CACHE_DIR")
    os.environ["KB_MODEL_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        del os.environ["KB_MODEL_CACHE_DIR"]
    else:
        os.environ["KB_MODEL_CACHE_DIR"] = old
