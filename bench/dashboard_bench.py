"""Dashboard benchmark: the usage benchmark's generated month, then every dashboard request timed over HTTP.

Generates a month with ``bench/usage_bench.py``'s generator (plus what it leaves out: the open
flags its ``flagged`` events open, and credit entries for the points charts) into a fresh SQLite
file and/or PostgreSQL schema, serves the bundled KB (indexed with a hashing embedder, so the
gaps chart groups queries without a model) under uvicorn, and times each request the page makes:
``GET /v1/dashboard``, each ``/v1/dashboard/charts/{chart}``, ``/v1/dashboard/summary``, one by
one and cold (the reports shared between requests dropped before each; best and worst of
``--repeat``), then all at once as the page sends them, cold and then warm.

    .venv/bin/python bench/dashboard_bench.py --db both
    .venv/bin/python bench/dashboard_bench.py --db sqlite --suggestions 10000 --events 100000 --tickets 5000
    .venv/bin/python bench/dashboard_bench.py --db both --keep /tmp/dash-month   # generate once, reuse after

With ``--keep DIR`` the month is generated once and kept (a SQLite file in DIR, a PostgreSQL schema
named in DIR/pg_schema) and later runs with the same DIR time it again without regenerating (migrations
still run first, so a new index applies); ``--drop`` removes it afterwards.

A benchmark, not a test: it prints the figures (the requirement is ≤ 1 s per request).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.build import BuildOptions, build_index  # noqa: E402
from service.config import ServiceSettings  # noqa: E402
from service.credits.models import CreditEntry  # noqa: E402
from service.db import make_engine, upgrade  # noqa: E402
from service.keys import crud as key_crud  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

MONTH = "2026-11"
APP_NAME = "dashboard-bench"
CHARTS = (
    "link-rate", "funnel", "reuse", "top-articles", "never-used", "stale-in-use", "gaps", "flags", "team-points",
    "leaderboard",
)  # fmt: skip


@functools.cache
def usage_bench() -> ModuleType:
    """``bench/usage_bench.py`` as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("usage_bench", Path(__file__).with_name("usage_bench.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate_month(engine: sa.Engine, **scale: Any) -> dict[str, Any]:
    """The usage benchmark's month (``scale``: suggestions, events, tickets, agents, teams, articles) plus
    the flags its ``flagged`` events open and a few credit entries per agent in the month."""
    defaults = {"suggestions": 100_000, "events": 1_000_000, "tickets": 50_000, "agents": 300, "teams": 12}
    args = argparse.Namespace(**{**defaults, "articles": 800, **scale})
    figures: dict[str, Any] = usage_bench().generate(engine, args)
    with engine.begin() as conn:
        # What crud.record_event does for each flagged event, in one statement.
        conn.execute(
            sa.text(
                "INSERT INTO usage_flags (event_id, article_id, agent_id, comment, status, created_at) "
                "SELECT id, article_id, agent_id, comment, 'open', occurred_at FROM usage_events "
                "WHERE type = 'flagged'"
            )
        )
        if engine.dialect.name == "postgresql":  # the generator gives outcomes explicit ids: move the sequence on
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('ticket_outcomes', 'id'), max(id)) FROM ticket_outcomes")
            )
    rng = random.Random(11)
    start = datetime(2026, 11, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(args.agents):
        for k in range(rng.randint(1, 6)):
            key = f"bench-{i}-{k}"
            rows.append(
                {
                    "agent_id": f"ag{i:03d}",
                    "points": rng.randint(1, 5),
                    "rule_id": rng.choice(("citation", "helpful_vote", "flag_confirmed")),
                    "rules_version": "bench",
                    "reason": "generated",
                    "fact_key": key,
                    "idempotency_key": key,
                    "payload_hash": "x",
                    "created_at": start + timedelta(seconds=rng.random() * 28 * 86400),
                }
            )
    usage_bench().insert(engine, CreditEntry, rows)
    figures["credit_entries"] = len(rows)
    return figures


def serve(url: str, data_dir: Path, index_dir: Path) -> tuple[Any, Any, threading.Thread, int, str]:
    import uvicorn

    from service.main import create_app

    if url.startswith("postgresql"):  # named, so cpu_seconds finds the app's backends
        url += f"{'&' if '?' in url else '?'}application_name={APP_NAME}"
    settings = ServiceSettings(
        data_dir=data_dir, index_dir=index_dir, database_url=url, reload_interval=0, key_cache_seconds=60,
        credits_settle_seconds=0,
    )  # fmt: skip
    app = create_app(settings, embedder=FakeEmbedder())
    port = usage_bench().free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with Session(app.state.engine) as session:
        _, key = key_crud.create_api_key(session=session, role="editor")
    return app, server, thread, port, key


def cpu_seconds(kind: str) -> float:
    """CPU time so far of this process (server and client threads: all of SQLite's work) and, on PostgreSQL,
    of the app's backends, read from /proc (a local server). Survives machine load where wall time does
    not; misses PostgreSQL's parallel workers, which exit with their query (a lower bound there)."""
    total = time.process_time()
    if kind == "postgresql":
        with psycopg.connect(usage_bench().PG_DSN) as conn:
            query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            pids = [pid for (pid,) in conn.execute(query, (APP_NAME,))]
        for pid in pids:
            with contextlib.suppress(FileNotFoundError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def time_requests(app: Any, port: int, key: str, repeat: int, kind: str) -> None:
    query = f"month={MONTH}"
    paths = [
        "/v1/dashboard",
        *(f"/v1/dashboard/charts/{c}?{query}" for c in CHARTS),
        f"/v1/dashboard/charts/link-rate?{query}&trend=week&team=team01",
        f"/v1/dashboard/charts/leaderboard?{query}&team=team01",
        f"/v1/dashboard/summary?{query}",
        f"/v1/dashboard/summary?{query}&team=team01",
    ]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=120) as client:
        for path in paths:
            took, cpu = [], []
            for _ in range(repeat):
                forget(app)  # each request cold: nothing shared with an earlier one
                cpu_began = cpu_seconds(kind)
                began = time.perf_counter()
                response = client.get(path)
                took.append(time.perf_counter() - began)
                cpu.append(cpu_seconds(kind) - cpu_began)
                response.raise_for_status()
            rows = len(response.json().get("rows", [])) if "/charts/" in path else "-"
            flag = "  OVER 1 s" if max(took) > 1 else ""
            print(
                f"  {path:62s} best {min(took):6.3f} s  worst {max(took):6.3f} s  "
                f"cpu {min(cpu):5.2f}/{max(cpu):5.2f} s  rows {rows}  load {os.getloadavg()[0]:.1f}{flag}",
                flush=True,
            )

        page = [
            "/v1/dashboard",
            *(f"/v1/dashboard/charts/{c}?{query}" for c in CHARTS),
            f"/v1/dashboard/summary?{query}",
        ]

        def get(path: str) -> float:
            began = time.perf_counter()
            client.get(path).raise_for_status()
            return time.perf_counter() - began

        for state in ("cold", "warm"):
            if state == "cold":
                forget(app)
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=6) as pool:  # a browser's connections per host
                each = list(pool.map(get, page))
            print(
                f"  whole page, {state} ({len(page)} requests, 6 at a time): {time.perf_counter() - began:.2f} s, "
                f"slowest request {max(each):.2f} s, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


def forget(app: Any) -> None:
    """Drop the report tables the dashboard shares between requests (service/dashboard/cache.py)."""
    app.state._state.pop("dashboard_reports", None)


@contextlib.contextmanager
def kept_database(kind: str, folder: Path, scale: dict[str, int], drop: bool) -> Iterator[tuple[str, sa.Engine, Path]]:
    """A migrated database kept in ``folder`` between runs, as (url, engine, its marker file).

    The marker holds the scale of a month generated in full; without it (or at another scale) the
    database is emptied first, so an interrupted generation is never timed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    marker, named = folder / f"{kind}.month", folder / "pg_schema"
    held = marker.exists() and json.loads(marker.read_text()) == scale
    bench = usage_bench()
    schema = None
    if kind == "sqlite":
        file = folder / "dash.db"
        if not held:
            for stale in (file, file.with_name("dash.db-wal"), file.with_name("dash.db-shm")):
                stale.unlink(missing_ok=True)
        url = f"sqlite:///{file}"
    else:
        schema = named.read_text().strip() if named.exists() else f"dash_kept_{uuid.uuid4().hex[:8]}"
        if not held:
            with psycopg.connect(bench.PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                conn.execute(f'CREATE SCHEMA "{schema}"')
            named.write_text(schema)
        url = f"{bench.PG_URL}?options=-csearch_path%3D{schema}"
    if not held:
        marker.unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine, marker
    finally:
        engine.dispose()
        if drop:
            marker.unlink(missing_ok=True)
            if schema is None:
                (folder / "dash.db").unlink(missing_ok=True)
            else:
                with psycopg.connect(bench.PG_DSN, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                named.unlink(missing_ok=True)


def run(kind: str, args: argparse.Namespace, index_dir: Path) -> None:
    bench = usage_bench()
    scale = {k: getattr(args, k) for k in ("suggestions", "events", "tickets", "agents", "teams", "articles")}
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dashboard-bench-"))
        marker = None
        if args.keep is None:
            url, engine = stack.enter_context(bench.fresh_database(kind, tmp, "dash"))
        else:
            url, engine, marker = stack.enter_context(kept_database(kind, args.keep, scale, args.drop))
        if marker is not None and marker.exists():
            print(f"{kind}: the month kept in {args.keep} ({scale})")
        else:
            figures = generate_month(engine, **scale)
            if marker is not None:
                marker.write_text(json.dumps(scale))
            print(
                f"{kind}: {figures['suggestions']:,} suggestions, {figures['events']:,} events, "
                f"{figures['outcomes']:,} outcomes, {figures['credit_entries']:,} credit entries "
                f"generated in {figures['generate_s']:.0f} s"
            )
        bench.analyze(engine)
        app, server, thread, port, key = serve(url, Path(tmp) / "data", index_dir)
        try:
            time_requests(app, port, key, args.repeat, kind)
        finally:
            server.should_exit = True
            thread.join()


def main() -> None:
    parser = usage_bench().month_arguments(__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the generated month in this folder and reuse it next time.")
    parser.add_argument("--drop", action="store_true", help="With --keep: remove the kept month afterwards.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-index-") as tmp:
        index_dir = Path(tmp) / "index"
        build_index(ROOT / "kb_content", index_dir, FakeEmbedder(), BuildOptions())
        for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            run(kind, args, index_dir)


if __name__ == "__main__":
    main()
