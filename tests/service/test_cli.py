"""`kbassist keys` and `kbassist db` through CliRunner, and the serve wiring."""

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from indexer.config import Settings
from service import crud
from service.cli import main
from service.db import make_engine


@pytest.fixture
def cli_settings(db_url, tmp_path):
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


def run(settings, *args):
    result = CliRunner().invoke(main, list(args), obj=settings)
    return result


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(cli_settings):
    result = run(cli_settings, "keys", "create", "--role", "agent", "--agent-id", "a-1", "--name", "Li Wei")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("kb_") and len(key) > 40
    engine = make_engine(cli_settings.database_url)
    try:
        with Session(engine) as session:
            row = crud.get_api_key_by_hash(session=session, key_hash=crud.hash_key(key))
            assert row is not None and row.role == "agent" and row.agent_id == "a-1"
            assert key not in {row.key_hash, row.prefix, row.name}
    finally:
        engine.dispose()


def test_keys_list_and_revoke(cli_settings):
    run(cli_settings, "keys", "create", "--role", "integration")
    listed = run(cli_settings, "keys", "list")
    assert listed.exit_code == 0 and "integration" in listed.output
    key_id = listed.output.splitlines()[-1].split("\t")[0]
    assert run(cli_settings, "keys", "revoke", key_id).exit_code == 0
    assert "integration" not in run(cli_settings, "keys", "list").output
    assert "integration" in run(cli_settings, "keys", "list", "--all").output
    missing = run(cli_settings, "keys", "revoke", "99999")
    assert missing.exit_code == 1 and "no key with id 99999" in missing.output


def test_agent_key_needs_an_agent_id_and_roles_are_checked(cli_settings):
    assert run(cli_settings, "keys", "create", "--role", "agent").exit_code == 2
    assert run(cli_settings, "keys", "create", "--role", "root").exit_code == 2


def test_db_upgrade_is_idempotent(cli_settings):
    assert run(cli_settings, "db", "upgrade").exit_code == 0
    assert run(cli_settings, "db", "upgrade").exit_code == 0


def test_serve_passes_host_and_port_to_uvicorn(cli_settings, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    result = run(cli_settings, "serve", "--host", "0.0.0.0", "--port", "9001")
    assert result.exit_code == 0, result.output
    ((app, options),) = calls
    assert options["host"] == "0.0.0.0" and options["port"] == 9001
    assert app.state.settings.db_upgrade_on_start is False


def test_serve_runs_the_guarded_protocol_with_the_configured_limits(cli_settings, monkeypatch):
    import uvicorn

    from service.protocol import GuardedHttpProtocol

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    settings = cli_settings.model_copy(update={"max_header_bytes": 4096, "header_timeout": 2.5})
    assert run(settings, "serve").exit_code == 0
    ((_, options),) = calls
    protocol = options["http"]
    assert issubclass(protocol, GuardedHttpProtocol)
    assert protocol.settings.max_header_bytes == 4096 and protocol.settings.header_timeout == 2.5

    calls.clear()
    for name in ("KB_DB_UPGRADE_ON_START", "PROMETHEUS_MULTIPROC_DIR"):  # set by serve --workers: undone after
        monkeypatch.setenv(name, "")
    assert run(settings, "serve", "--workers", "2").exit_code == 0
    ((_, options),) = calls
    assert options["http"] == "service.protocol:GuardedHttpProtocol"
