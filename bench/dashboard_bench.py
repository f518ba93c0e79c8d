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

A benchmark, not a test: it prints the figures (the requirement is ≤ 1 s per request).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.build import BuildOptions, build_index  # noqa: E402
from service.config import ServiceSettings  # noqa: E402
from service.credits.models import CreditEntry  # noqa: E402
from service.keys import crud as key_crud  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

MONTH = "2026-11"
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


def time_requests(app: Any, port: int, key: str, repeat: int) -> None:
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
            took = []
            for _ in range(repeat):
                forget(app)  # each request cold: nothing shared with an earlier one
                began = time.perf_counter()
                response = client.get(path)
                took.append(time.perf_counter() - began)
                response.raise_for_status()
            rows = len(response.json().get("rows", [])) if "/charts/" in path else "-"
            flag = "  OVER 1 s" if max(took) > 1 else ""
            print(f"  {path:62s} best {min(took):6.3f} s  worst {max(took):6.3f} s  rows {rows}{flag}")

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
                f"slowest request {max(each):.2f} s"
            )


def forget(app: Any) -> None:
    """Drop the report tables the dashboard shares between requests (service/dashboard/cache.py)."""
    app.state._state.pop("dashboard_reports", None)


def run(kind: str, args: argparse.Namespace, index_dir: Path) -> None:
    bench = usage_bench()
    with (
        tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp,
        bench.fresh_database(kind, tmp, "dash") as (
            url,
            engine,
        ),
    ):
        scale = {k: getattr(args, k) for k in ("suggestions", "events", "tickets", "agents", "teams", "articles")}
        figures = generate_month(engine, **scale)
        bench.analyze(engine)
        print(
            f"{kind}: {figures['suggestions']:,} suggestions, {figures['events']:,} events, "
            f"{figures['outcomes']:,} outcomes, {figures['credit_entries']:,} credit entries "
            f"generated in {figures['generate_s']:.0f} s"
        )
        app, server, thread, port, key = serve(url, Path(tmp) / "data", index_dir)
        try:
            time_requests(app, port, key, args.repeat)
        finally:
            server.should_exit = True
            thread.join()


def main() -> None:
    parser = usage_bench().month_arguments(__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-index-") as tmp:
        index_dir = Path(tmp) / "index"
        build_index(ROOT / "kb_content", index_dir, FakeEmbedder(), BuildOptions())
        for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            run(kind, args, index_dir)


if __name__ == "__main__":
    main()
