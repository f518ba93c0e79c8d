"""Service-wide commands: ``serve``, ``db upgrade`` and ``doctor`` (each domain's own commands live in its package)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import click

from service.config import service_settings_from
from service.db import migrated_engine


@click.command("serve")
@click.option("--host", help="Bind address (default $KB_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default $KB_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default $KB_WORKERS or 1).")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API on the current index (docs at /docs)."""
    import uvicorn

    settings = service_settings_from(ctx)
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    with migrated_engine(settings.database_url):
        pass
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 10,
    }
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
        uvicorn.run(
            "service.main:create_app",
            factory=True,
            workers=workers,
            http="service.protocol:GuardedHttpProtocol",
            **options,
        )


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the migrations (alembic upgrade head)."""
    with migrated_engine(service_settings_from(ctx).database_url):
        pass
    click.echo("database is at the latest revision")


@click.command("doctor")
@click.pass_context
def doctor_cmd(ctx: click.Context) -> None:
    """Check settings, credit rules, content, model, build, database, clock, keys; say what to fix (exit 1 if any)."""
    from service.doctor import run_checks

    checks = run_checks(service_settings_from(ctx))
    for check in checks:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[check.ok]
        click.echo(f"{mark} {check.name}: {check.detail}")
        if check.fix:
            click.echo(f"     fix: {check.fix}")
    if any(check.ok is False for check in checks):
        ctx.exit(1)


COMMANDS = (serve_cmd, db_group, doctor_cmd)
