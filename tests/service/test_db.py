"""The engine factory: a failed statement's error never carries its parameters (both databases); the SQLite
database and its WAL are private to the service's user."""

import stat

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.db import make_engine, upgrade

SECRET = "13911112222"


def test_errors_do_not_show_bound_parameters(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        insert = text("INSERT INTO api_keys (prefix, key_hash, role, name, created_at) VALUES (:p, :h, :r, :n, :c)")
        values = {"p": "kb_x", "h": "h" * 64, "r": "admin", "n": SECRET, "c": "2026-12-01T00:00:00+00:00"}
        with engine.begin() as connection:
            connection.execute(insert, values)
        with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
            connection.execute(insert, values)
        assert "hide_parameters" in str(caught.value) and SECRET not in str(caught.value)
    finally:
        engine.dispose()


def test_sqlite_database_and_wal_are_created_private(tmp_path, open_umask):
    path = tmp_path / "data" / "kbassist.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE probe (x TEXT)"))
            conn.execute(text("INSERT INTO probe VALUES ('13800000000')"))
            conn.commit()
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        engine.dispose()
    assert files == {"kbassist.db": 0o600, "kbassist.db-wal": 0o600, "kbassist.db-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
