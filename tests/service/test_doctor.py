"""`kbassist doctor` through CliRunner: a ready installation passes, each problem names its fix."""

import pytest
from click.testing import CliRunner

from indexer.build import BuildOptions, build_index
from service.cli import main
from service.config import ServiceSettings
from service.db import migrated_engine
from tests.conftest import FakeEmbedder


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr("service.doctor.make_embedder", lambda settings: FakeEmbedder())


@pytest.fixture
def ready(db_url, tmp_path, kb_dir, fake_model):
    """Content, a matching build, a migrated database and one usable key."""
    settings = ServiceSettings(content_dir=kb_dir, data_dir=tmp_path / "data", database_url=db_url)
    build_index(kb_dir, settings.index_root, FakeEmbedder(), BuildOptions(chunk_size=settings.chunk_size))
    assert doctor(settings, "keys", "create", "--role", "agent", "--agent-id", "doc-1").exit_code == 0
    return settings


def doctor(settings, *args):
    return CliRunner().invoke(main, list(args or ["doctor"]), obj=settings)


def lines(result, status):
    return [line for line in result.output.splitlines() if line.startswith(status)]


def test_a_ready_installation_passes_every_check(ready):
    result = doctor(ready)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0].split()[-1] for line in lines(result, "ok")] == [
        "settings",
        "rules",
        "content",
        "model",
        "build",
        "database",
        "clock",
        "keys",
    ]
    assert not lines(result, "FAIL")


def test_content_changed_since_the_build_says_to_index(ready):
    article = ready.content_dir / "refund-arrival.md"
    article.write_text(article.read_text(encoding="utf-8") + "\n补充：节假日顺延。\n", encoding="utf-8")
    result = doctor(ready)
    assert result.exit_code == 1
    assert any("refund-arrival" in line for line in lines(result, "FAIL build"))
    assert "fix: kbassist index" in result.output


def test_no_build_and_an_unmigrated_database_each_name_their_fix(tmp_path, kb_dir, fake_model):
    settings = ServiceSettings(content_dir=kb_dir, data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path}/x.db")
    result = doctor(settings)
    assert result.exit_code == 1
    assert lines(result, "FAIL build") and lines(result, "FAIL database")
    assert "fix: kbassist db upgrade" in result.output


def test_a_model_that_does_not_load_skips_the_build_check(ready, monkeypatch):
    def broken(settings):
        raise OSError("model files missing")

    monkeypatch.setattr("service.doctor.make_embedder", broken)
    result = doctor(ready)
    assert result.exit_code == 1
    assert lines(result, "FAIL model") and lines(result, "skip build")


def test_no_usable_key_is_a_problem(tmp_path, kb_dir, fake_model):
    settings = ServiceSettings(content_dir=kb_dir, data_dir=tmp_path / "d", database_url=f"sqlite:///{tmp_path}/k.db")
    build_index(kb_dir, settings.index_root, FakeEmbedder(), BuildOptions(chunk_size=settings.chunk_size))
    with migrated_engine(settings.database_url):
        pass
    result = doctor(settings)
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in lines(result, "FAIL")] == ["FAIL keys"]


def test_a_bad_rules_file_is_reported_with_its_file_and_line(ready, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  citation: {points: 5}\n  citatoin: {points: 1}\n", encoding="utf-8")
    result = doctor(ready.model_copy(update={"credits_rules_file": rules}))
    assert result.exit_code == 1
    failed = lines(result, "FAIL")
    assert len(failed) == 1 and failed[0].startswith(f"FAIL rules: {rules}:3: unknown rule 'citatoin'"), failed
    assert "fix: fix the credits rules file" in result.output
    assert lines(result, "ok   content") and lines(result, "ok   keys")  # the other checks still run
