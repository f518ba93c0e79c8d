"""Engine factory, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from indexer.private import create_private_file

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for ``sqlite://…`` (WAL, synchronous=NORMAL) or ``postgresql+psycopg://…``.

    A new SQLite file is created ``0600`` in a ``0700`` folder (it holds customer queries);
    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode.

    Args:
        url: SQLAlchemy URL.
        schema: PostgreSQL only: put this schema first on the search path (tests use one per run).
    """
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        if not in_memory:
            create_private_file(Path(path))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def get_session(engine: Engine) -> Iterator[Session]:
    """A session bound to ``engine``, closed afterwards."""
    with Session(engine) as session:
        yield session
