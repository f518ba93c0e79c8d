"""Usage benchmark: a realistic month of usage data, every report timed, and HTTP event ingest.

Generates into a fresh SQLite file and/or a fresh PostgreSQL schema: agents in teams,
suggestions, events (Zipf-distributed article use: a few articles carry most links) and
ticket outcomes with reopens (PostgreSQL then ANALYZEd, as autovacuum would); then times each
report of ``service.usage.reports`` (gaps with a hashing embedder, 1,000 queries at most by
design) and, with ``--http``, measures event ingest: the bare INSERTs beside batches of 100
from 8 clients to ``kbassist serve --workers 2``, checking none is lost (``usage_ingest.py``).

    .venv/bin/python bench/usage_bench.py --db both --http
    .venv/bin/python bench/usage_bench.py --db sqlite --suggestions 10000 --events 100000 --tickets 5000

A benchmark, not a test: it prints the figures. Past the ~300-line guide because it is one
script run by path (never imported): generating the month and timing the reports work on
the data it generates, and read best in one file; the ingest rows live in ``usage_ingest.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import sqlalchemy as sa

# The repository (for service) and this folder (for usage_ingest), also when loaded from a file by another script.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from usage_ingest import http_ingest, mark_settled, raw_inserts  # noqa: E402

from service.db import make_engine, upgrade  # noqa: E402
from service.suggestions.models import Suggestion  # noqa: E402
from service.usage import rollup  # noqa: E402
from service.usage.analytics import Options  # noqa: E402
from service.usage.models import Agent, ArticleSeen, TicketOutcome, TicketOutcomeAgent, UsageEvent  # noqa: E402
from service.usage.reports import KB, REPORT_NAMES, run_report  # noqa: E402

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 11, 1, tzinfo=UTC)
QUERIES = [
    "退款多久到账",
    "运费谁承担",
    "怎么修改地址",
    "发票怎么开",
    "会员积分怎么用",
    "账号被锁了",
    "预售定金能退吗",
    "保修怎么申请",
    "how to cancel my order",
    "refund not received",
]


class HashEmbedder:
    """Bag-of-characters vectors: enough to group similar query texts without a model."""

    dim = 64

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text:
                out[i, int(hashlib.md5(ch.encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    embed_documents = embed_queries


def zipf_articles(n_articles: int, rng: random.Random, size: int) -> list[str]:
    weights = [1 / (i + 1) for i in range(n_articles)]
    return [f"art-{i:04d}" for i in rng.choices(range(n_articles), weights=weights, k=size)]


def insert(engine: sa.Engine, model: type, rows: list[dict]) -> None:
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(model), rows[start : start + 5000])


def generate(engine: sa.Engine, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(7)
    span = timedelta(days=30).total_seconds()
    agents = [f"ag{i:03d}" for i in range(args.agents)]
    insert(
        engine,
        Agent,
        [
            {
                "agent_id": a,
                "team": f"team{i % args.teams:02d}",
                "active": True,
                "created_at": START,
                "updated_at": START,
            }
            for i, a in enumerate(agents)
        ],
    )
    insert(
        engine,
        ArticleSeen,
        [
            {"article_id": f"art-{i:04d}", "first_seen_at": START - timedelta(days=i % 60), "first_index_version": "v1"}
            for i in range(args.articles)
        ],
    )
    began = time.perf_counter()
    suggestions, events, outcomes, handlers = [], [], [], []
    per_suggestion = max(1, args.events // args.suggestions)
    for n in range(args.suggestions):
        sid = uuid.UUID(int=rng.getrandbits(128)).hex
        at = START + timedelta(seconds=rng.random() * span)
        agent = rng.choice(agents)
        ticket = f"T{rng.randrange(args.tickets):06d}"
        arts = list(dict.fromkeys(zipf_articles(args.articles, rng, 5)))
        suggestions.append(
            {
                "id": sid,
                "created_at": at,
                "agent_id": agent,
                "ticket_id": ticket,
                "channel": "chat",
                "query": f"{rng.choice(QUERIES)} {n % 97}",
                "mode": "hybrid",
                "index_version": "v1",
                "results": [{"article_id": a, "score": 0.5} for a in arts],
                "answerable": rng.random() > 0.1,
                "took_ms": 3.0,
            }
        )
        for k in range(per_suggestion):
            rank = min(int(rng.expovariate(1.0)), len(arts) - 1)
            kind = rng.choices(
                ("shown", "opened", "copied", "inserted", "linked", "helpful", "dismissed", "flagged"),
                (50, 20, 10, 5, 8, 4, 2, 1),
            )[0]
            events.append(
                {
                    "event_id": f"{sid}-{k}",
                    "type": kind,
                    "suggestion_id": sid,
                    "ticket_id": ticket,
                    "article_id": arts[rank],
                    "rank": rank + 1,
                    "index_version": "v1",
                    "agent_id": agent,
                    "comment": "过期" if kind == "flagged" else None,
                    "payload_hash": "x",
                    "occurred_at": at + timedelta(seconds=k * 20),
                    "created_at": at,
                }
            )
    outcome_id = 0
    for t in range(args.tickets):
        at = START + timedelta(seconds=rng.random() * span * 0.95)
        chain = ["resolved", "reopened", "resolved"] if rng.random() < 0.1 else ["resolved"]
        for step, status in enumerate(chain):
            outcome_id += 1
            outcomes.append(
                {
                    "id": outcome_id,
                    "idempotency_key": f"o{outcome_id}",
                    "ticket_id": f"T{t:06d}",
                    "status": status,
                    "csat": rng.randint(1, 5),
                    "complexity": rng.choice(("L1", "L2", "L3")),
                    "team": None,
                    "channel": "chat",
                    "occurred_at": at + timedelta(days=step),
                    "created_at": at,
                    "payload_hash": "x",
                }
            )
            handlers.append({"outcome_id": outcome_id, "agent_id": rng.choice(agents)})
    insert(engine, Suggestion, suggestions)
    insert(engine, UsageEvent, events)
    insert(engine, TicketOutcome, outcomes)
    insert(engine, TicketOutcomeAgent, handlers)
    with engine.begin() as conn:  # loaded around the write path: the rows kept on write too
        rollup.rebuild(conn)
    return {
        "generate_s": time.perf_counter() - began,
        "suggestions": len(suggestions),
        "events": len(events),
        "outcomes": len(outcomes),
    }


def report_cases() -> list[tuple[str, str, str, datetime | None, datetime | None]]:
    """Every report over all time (week) and over the month (a dashboard's range), and the grouped ones by day."""
    zone = ZoneInfo("Asia/Shanghai")
    month = (datetime(2026, 11, 1, tzinfo=zone).astimezone(UTC), datetime(2026, 12, 1, tzinfo=zone).astimezone(UTC))
    cases: list[tuple[str, str, str, datetime | None, datetime | None]] = []
    for name in REPORT_NAMES:
        cases += [(name, "all", "week", None, None), (name, "all", "week", *month)]
    for name in ("link-rate", "adoption"):
        cases += [(name, group, "day", *month) for group in ("team", "agent", "channel")]
    return cases


def time_reports(engine: sa.Engine) -> None:
    from sklearn.cluster import AgglomerativeClustering  # noqa: F401 - a one-time import, not a report cost
    from sqlmodel import Session

    embedder = HashEmbedder()
    kb = KB({}, embedder.embed_queries, lambda _q: None)
    for name, group_by, period, since, until in report_cases():
        opts = Options(period=period, zone=ZoneInfo("Asia/Shanghai"), group_by=group_by)  # type: ignore[arg-type]
        with Session(engine) as session:
            began = time.perf_counter()
            table = run_report(
                name,
                session=session,
                opts=opts,
                since=since,
                until=until,
                kb=kb,
                gap_distance=0.35,
                today=date(2026, 12, 1),
            )
            took = time.perf_counter() - began
        cut = f"{group_by}/{period}/{'month' if since else 'all time'}"
        over = "  OVER 2 s" if took > 2 else ""
        print(f"  report {name:20s} {cut:24s} {took:6.2f} s  ({len(table.rows)} rows){over}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fresh_database(kind: str, folder: str, name: str) -> Iterator[tuple[str, sa.Engine]]:
    """A migrated empty database, as (url, engine): a SQLite file in ``folder``, or a PostgreSQL schema of its
    own (dropped afterwards). Also dashboard_bench.py's."""
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{folder}/{name}.db"
    else:
        schema = f"{name}_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        if schema:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def analyze(engine: sa.Engine) -> None:
    """What autovacuum does within a minute of a bulk load on a live PostgreSQL (inserts trigger it since 13):
    ANALYZE, as plans need row counts, and VACUUM, which marks pages all-visible so index-only scans
    skip the table. Only the tables of this database's schema (the search path), not every schema."""
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{name}"' for name in sa.inspect(engine).get_table_names())
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")


def run(kind: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp, fresh_database(kind, tmp, "usage") as (url, engine):
        figures = generate(engine, args)
        analyze(engine)
        print(
            f"{kind}: {figures['suggestions']:,} suggestions, {figures['events']:,} events, "
            f"{figures['outcomes']:,} outcomes generated in {figures['generate_s']:.0f} s"
        )
        time_reports(engine)
        if args.http:
            mark_settled(engine)
            print(f"  {raw_inserts(engine, args.http_events, args.clients)}", flush=True)
            for workers in map(int, args.workers.split(",")):
                data = Path(tmp) / f"data{workers}"
                line = http_ingest(url, data, engine, args.http_events, args.clients, workers, free_port())
                print(f"  {line}", flush=True)


def month_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the databases and the generated month's scale (also dashboard_bench.py's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--suggestions", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--teams", type=int, default=12)
    parser.add_argument("--articles", type=int, default=800)
    return parser


def main() -> None:
    parser = month_arguments(__doc__.split("\n")[0])
    parser.add_argument("--http", action="store_true", help="Also time event ingest over HTTP.")
    parser.add_argument("--http-events", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="kbassist serve --workers for each HTTP row (comma list).")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args)


if __name__ == "__main__":
    main()
