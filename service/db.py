"""Engine factory, migrations and the column helpers every table shares, for SQLite and PostgreSQL.

Engines never log bound parameters (``hide_parameters``): a failed insert's error would
otherwise print the stored values, which include ticket ids and agent ids.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from indexer.private import create_private_file

MIGRATIONS = Path(__file__).parent / "migrations"
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (how every timestamp is stored)."""
    return datetime.now(UTC)


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
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, hide_parameters=True)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextlib.contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An engine on ``url``, migrated to the latest revision, disposed afterwards (for commands)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
