"""ServiceSettings: the service's own fields on top of the indexer's, one KB_ prefix."""

import pytest

from indexer.config import Settings
from service.config import ServiceSettings

SERVICE_ONLY = {
    "database_url",
    "db_upgrade_on_start",
    "host",
    "port",
    "workers",
    "reload_interval",
    "key_cache_seconds",
    "integration_internal",
    "pii_patterns",
    "debug",
}


def test_service_fields_are_not_the_indexers():
    assert SERVICE_ONLY <= set(ServiceSettings.model_fields)
    assert not SERVICE_ONLY & set(Settings.model_fields)


def test_database_defaults_to_sqlite_in_the_data_dir(tmp_path):
    assert ServiceSettings(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path / 'kbassist.db'}"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_get_the_psycopg_driver(scheme):
    settings = ServiceSettings(database_url=f"{scheme}://u@h:5432/db")
    assert settings.database_url == "postgresql+psycopg://u@h:5432/db"


def test_the_environment_fills_both_classes_with_one_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_PORT", "9100")
    monkeypatch.setenv("KB_CHUNK_SIZE", "200")
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    settings = ServiceSettings()
    assert (settings.port, settings.chunk_size, settings.index_root) == (9100, 200, tmp_path / "index")
