"""Service commands: ``serve``, ``keys create|list|revoke`` and ``db upgrade``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.config import Settings
from indexer.factory import settings_from
from service import crud
from service.db import make_engine, upgrade
from service.models import ROLES


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured database, migrated to the latest revision, disposed afterwards."""
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@click.command("serve")
@click.option("--host", help="Bind address (default $KB_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default $KB_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default $KB_WORKERS or 1).")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API on the current index (docs at /docs)."""
    import uvicorn

    settings = settings_from(ctx)
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    with _database(settings):
        pass
    options: dict[str, Any] = {"host": host, "port": port, "access_log": False, "log_level": "warning",
                               "timeout_graceful_shutdown": 10}  # fmt: skip
    if workers == 1:
        from service.main import create_app
        from service.protocol import protocol_for

        app = create_app(settings.model_copy(update={"db_upgrade_on_start": False}))
        uvicorn.run(app, http=protocol_for(settings), **options)
        return
    # Workers are fresh processes: they read settings from the environment, share metrics through
    # files, and must not race each other on migrations (done above, once).
    os.environ["KB_DB_UPGRADE_ON_START"] = "false"
    with tempfile.TemporaryDirectory(prefix="kbassist-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run("service.main:create_app", factory=True, workers=workers,
                    http="service.protocol:GuardedHttpProtocol", **options)  # fmt: skip


@click.group("keys")
def keys_group() -> None:
    """Manage API keys (stored hashed; a new key is shown once)."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--agent-id", help="Agent the key is bound to (required for --role agent).")
@click.option("--name", help="A label for `keys list`.")
@click.pass_context
def keys_create(ctx: click.Context, role: str, agent_id: str | None, name: str | None) -> None:
    """Create a key; the key itself is printed on the last line."""
    if role == "agent" and not agent_id:
        raise click.UsageError("--role agent needs --agent-id")
    with _database(settings_from(ctx)) as engine, Session(engine) as session:
        row, key = crud.create_api_key(session=session, role=role, agent_id=agent_id, name=name)
    click.echo(f"created key {row.id} ({row.role}{', agent ' + agent_id if agent_id else ''}); store it now:", err=True)
    click.echo(key)


@keys_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked keys.")
@click.pass_context
def keys_list(ctx: click.Context, show_all: bool) -> None:
    """List keys (id, prefix, role, agent, created, revoked)."""
    with _database(settings_from(ctx)) as engine, Session(engine) as session:
        rows = crud.list_api_keys(session=session, include_revoked=show_all)
    click.echo("id\tprefix\trole\tagent_id\tname\tcreated_at\trevoked_at")
    for r in rows:
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "-"
        click.echo(f"{r.id}\t{r.prefix}…\t{r.role}\t{r.agent_id or '-'}\t{r.name or '-'}\t"
                   f"{r.created_at.isoformat(timespec='seconds')}\t{revoked}")  # fmt: skip


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: int) -> None:
    """Revoke a key by id (running services stop accepting it within KB_KEY_CACHE_SECONDS)."""
    with _database(settings_from(ctx)) as engine, Session(engine) as session:
        row = crud.revoke_api_key(session=session, key_id=key_id)
    if row is None:
        raise click.ClickException(f"no key with id {key_id}")
    click.echo(f"revoked key {key_id}")


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the migrations (alembic upgrade head)."""
    with _database(settings_from(ctx)):
        pass
    click.echo("database is at the latest revision")


COMMANDS = (serve_cmd, keys_group, db_group)
