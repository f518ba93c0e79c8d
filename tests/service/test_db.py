"""The SQLite database and its WAL are private to the service's user."""

import stat

from sqlalchemy import text

from service.db import make_engine, upgrade


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
