"""Event ingest for ``bench/usage_bench.py``: the raw INSERTs beside HTTP batches to a ``kbassist serve``.

Both rows of the figure post the same kind of rows in batches of 100 from 8 threads:

- **raw work**: each batch is the service's own statement (``INSERT … ON CONFLICT (event_id) DO
  NOTHING RETURNING``), the rollup upserts (``service/usage/rollup.py``) and a commit, on a connection per
  thread; no HTTP, no validation;
- **HTTP**: ``POST /v1/suggestions/{id}/events/batch`` to ``kbassist serve --workers 2`` (one per
  core) over keep-alive connections; every event must come back 200 and be in the table afterwards.

Before the server starts, the generated month is marked as settled by the credit ledger (its
cursors moved to the last row): a running service settles facts as they arrive, every
``KB_CREDITS_SETTLE_SECONDS``, so the server's settle timer then sees only the events posted here.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from load_test import cpu_seconds
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.credits import crud as credits_crud
from service.credits.settle import EVENTS, OUTCOMES
from service.keys import crud as key_crud
from service.suggestions.models import Suggestion
from service.usage import rollup
from service.usage.models import UsageEvent

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from service.cli import main; main()"]
BATCH = 100
# The month's mix (bench/usage_bench.py), without flags: a flag is a row an editor must resolve.
TYPES = (("shown", 50), ("opened", 20), ("copied", 10), ("inserted", 5), ("linked", 8), ("helpful", 4))


def mark_settled(engine: sa.Engine) -> None:
    """Move the ledger's cursors past the generated rows (as if settled when they arrived)."""
    with Session(engine) as session:
        for name, table in ((EVENTS, "usage_events"), (OUTCOMES, "ticket_outcomes")):
            last = session.connection().execute(sa.text(f"SELECT max(id) FROM {table}")).scalar_one() or 0
            credits_crud.advance_cursor(session=session, name=name, position=int(last))
        session.commit()


def batches(engine: sa.Engine, n_events: int, tag: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """``(suggestion id, its agent, 100 events)`` on generated suggestions, types in the month's mix."""
    rng = random.Random(tag)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Suggestion.id, Suggestion.agent_id, Suggestion.results).limit(5000)).all()
    kinds, weights = zip(*TYPES, strict=True)
    out = []
    for b in range(n_events // BATCH):
        sid, agent, results = rows[b % len(rows)]
        events = [
            {
                "event_id": f"{tag}-{b}-{i}",
                "type": rng.choices(kinds, weights)[0],
                "article_id": rng.choice(results)["article_id"],
            }
            for i in range(BATCH)
        ]
        out.append((sid, agent, events))
    return out


def _timed(work: Callable[[Any], int], items: list[Any], clients: int) -> tuple[int, float]:
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = sum(pool.map(work, items))
    return done, time.perf_counter() - began


def raw_inserts(engine: sa.Engine, n_events: int, clients: int) -> str:
    """The bare INSERT and commit of each batch, ``clients`` threads: what the database alone allows."""
    tag = f"raw{uuid.uuid4().hex[:6]}"
    items = batches(engine, n_events, tag)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    def insert(batch: tuple[str, str, list[dict[str, Any]]]) -> int:
        sid, agent, events = batch
        rows = [
            {
                **e,
                "suggestion_id": sid,
                "agent_id": agent,
                "rank": 1,
                "index_version": "v1",
                "payload_hash": "x",
                "occurred_at": datetime.now(UTC),
                "created_at": datetime.now(UTC),
            }
            for e in events
        ]
        statement = dialect.insert(UsageEvent).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
        with Session(engine) as session:  # the stored events' rollup rows in the same transaction, as crud does
            inserted = set(session.connection().execute(statement.returning(UsageEvent.event_id)).scalars())
            rollup.record(session=session, events=[UsageEvent(**r) for r in rows if r["event_id"] in inserted])
            session.commit()
        return len(inserted)

    stored, took = _timed(insert, items, clients)
    return f"raw INSERT+commit: {stored:,} events in {took:.2f} s = {stored / took:,.0f} events/s at {clients} threads"


def _serve(url: str, data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KB_DATABASE_URL": url, "KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("KB_WORKERS", None)
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers)], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not answer /healthz in 120 s")


def http_ingest(
    url: str, data_dir: Path, engine: sa.Engine, n_events: int, clients: int, workers: int, port: int
) -> str:
    """Batches of 100 over HTTP to ``kbassist serve --workers W``; checks every event is stored."""
    tag = f"http{uuid.uuid4().hex[:6]}"
    with Session(engine) as session:
        _, key = key_crud.create_api_key(session=session, role="integration")
    items = batches(engine, n_events, tag)
    server = _serve(url, data_dir, port, workers)
    local = threading.local()
    lock, errors = threading.Lock(), []

    def post(batch: tuple[str, str, list[dict[str, Any]]]) -> int:
        sid, agent, events = batch
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        response = client.post(
            f"/v1/suggestions/{sid}/events/batch",
            json={"events": events},
            headers={"X-API-Key": key, "X-Agent-Id": agent},
        )
        if response.status_code != 200:  # counted, not raised: the figure says how many batches failed and why
            with lock:
                errors.append(f"{response.status_code} {response.json().get('error', {}).get('code')}")
            return 0
        return sum(1 for r in response.json()["results"] if r["status"] == 200)

    try:
        cpu_before = cpu_seconds(server.pid)
        acknowledged, took = _timed(post, items, clients)
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(60)
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(UsageEvent.event_id.like(f"{tag}-%"))  # type: ignore[attr-defined]
        stored = conn.execute(query).scalar_one()
    return (
        f"http batches: {acknowledged:,} events acknowledged in {took:.2f} s = {acknowledged / took:,.0f} events/s "
        f"at {clients} clients, {workers} workers; server CPU {cpu / max(acknowledged, 1) * 1e6:.0f} µs/event; "
        f"stored {stored:,}, lost {acknowledged - stored}; failed batches {len(errors)}"
        + (f" ({', '.join(sorted(set(errors)))})" if errors else "")
    )
