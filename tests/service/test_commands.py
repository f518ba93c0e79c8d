"""`kbassist db` through CliRunner, and the serve wiring."""

import pytest

from indexer.config import Settings
from service.config import ServiceSettings
from tests.service.conftest import run


@pytest.fixture
def cli_settings(db_url, tmp_path):
    return ServiceSettings(data_dir=tmp_path / "data", database_url=db_url)


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


def test_service_commands_extend_plain_indexer_settings(tmp_path):
    result = run(Settings(data_dir=tmp_path / "data"), "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "kbassist.db").exists()
