"""Event write cost: ``crud.record_event`` (one event, its own transaction and commit, as the single-event
route stores it), or with a batch size ``crud.record_events`` and one commit per batch (as the batch route
stores one), timed per call on a fresh SQLite file or PostgreSQL schema.

    PYTHONPATH=$PWD python bench/event_write_bench.py sqlite 2000
    PYTHONPATH=$PWD python bench/event_write_bench.py postgresql 2000
    PYTHONPATH=$PWD python bench/event_write_bench.py postgresql 2000 20   # batches of 20

Prints the median, p90 and mean wall time per write and this process's CPU per write (all of
SQLite's work; on PostgreSQL the client side only). A benchmark, not a test.
"""

import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, os.getcwd())
from sqlmodel import Session  # noqa: E402

from service.suggestions.models import Suggestion  # noqa: E402
from service.usage import crud  # noqa: E402
from service.usage.models import UsageEvent  # noqa: E402

# bench/ is scripts, not a package: the fresh database comes from usage_bench.py, as dashboard_bench.py's does.
_spec = importlib.util.spec_from_file_location("usage_bench", Path(__file__).with_name("usage_bench.py"))
assert _spec is not None and _spec.loader is not None
usage_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(usage_bench)

N = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
kind = sys.argv[1]
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 1
with usage_bench.fresh_database(kind, tempfile.mkdtemp(), "wcost") as (_url, engine):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    sids = [uuid.uuid4().hex for _ in range(N // 10)]
    with Session(engine) as s:
        for n, sid in enumerate(sids):
            s.add(
                Suggestion(
                    id=sid,
                    created_at=start,
                    agent_id="a1",
                    ticket_id=f"T{n}",
                    query="q",
                    mode="hybrid",
                    index_version="v1",
                    results=[{"article_id": f"art{k}"} for k in range(5)],
                    answerable=True,
                    took_ms=1.0,
                )
            )
        s.commit()
    rng = random.Random(1)
    kinds = ("shown", "opened", "copied", "inserted", "linked", "helpful", "dismissed")
    took = []
    cpu0 = time.process_time()
    batch: list[UsageEvent] = []
    for n in range(N):
        sid = sids[n % len(sids)]
        batch.append(
            UsageEvent(
                event_id=uuid.uuid4().hex,
                type=rng.choice(kinds),
                suggestion_id=sid,
                ticket_id=f"T{n % len(sids)}",
                article_id=f"art{rng.randrange(5)}",
                rank=1,
                index_version="v1",
                agent_id="a1",
                occurred_at=start + timedelta(seconds=n * 7),
                payload_hash="x",
            )
        )
        if len(batch) < BATCH and n < N - 1:
            continue
        t = time.perf_counter()
        with Session(engine) as s, crud.writing(s):
            if BATCH == 1:
                crud.record_event(session=s, event=batch[0])
            else:
                crud.record_events(session=s, events=batch)
                s.commit()
        took.append(time.perf_counter() - t)
        batch = []
    cpu = time.process_time() - cpu0
    took.sort()
    median, p90, mean = statistics.median(took), took[int(len(took) * 0.9)], statistics.mean(took)
    what = "single-event writes" if BATCH == 1 else f"events in batches of {BATCH}, per batch"
    print(
        f"{kind:10s} {N} {what}: median {median * 1000:.2f} ms  p90 {p90 * 1000:.2f} ms  "
        f"mean {mean * 1000:.2f} ms  client cpu/event {cpu / N * 1000:.2f} ms  load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
