"""Fixtures for the evaluation tests: the tiny dataset and a fake-embedder factory."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.config import Settings
from tests.conftest import DATA, FakeEmbedder

EVAL_MINI = DATA / "eval_mini"


class FakeFactory:
    """Stands in for ``indexer.factory.make_embedder``: a FakeEmbedder named after the requested backend."""

    def __init__(self) -> None:
        self.made: list[FakeEmbedder] = []

    def __call__(self, settings: Settings, threads: int | None = None) -> FakeEmbedder:
        embedder = FakeEmbedder()
        embedder.backend = settings.embedding_backend
        self.made.append(embedder)
        return embedder

    @property
    def embedded(self) -> list[str]:
        return [text for e in self.made for text in e.embedded]


@pytest.fixture
def fake_factory(monkeypatch) -> FakeFactory:
    factory = FakeFactory()
    monkeypatch.setattr("eval.cli.make_embedder", factory)
    return factory


@pytest.fixture
def eval_settings(tmp_path: Path, kb_dir: Path) -> Settings:
    return Settings(content_dir=kb_dir, data_dir=tmp_path / "data", embedding_backend="use-multilingual")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
