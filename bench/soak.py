"""Soak with faults: two `kbassist serve` replicas on one PostgreSQL and one index folder, on loopback.

Mixed traffic (suggest, suggestion events, ticket links, outcomes with reopens, credit
redemptions) goes to both replicas for ``--duration`` seconds while an article changes
and is re-indexed (incrementally) every ``--reindex-every`` seconds, and replica B is
killed with SIGKILL at ``--kill-at`` of the run and started again. The initial index
(the real default embedder) is built before the clock starts; a reused ``--data-dir``
keeps it, so later runs re-embed only what changed.

At the end it prints: errors per replica (the surviving one must have none), requests
lost (only failed connections to the killed replica while it was down count as lost),
every acknowledged event, outcome and ledger entry looked up in the database,
`kbassist credits verify`, latency per minute (p50/p99 drift), RSS per replica at start
and end, and the build each replica serves against the last one published. Exit 1 if a
check fails.

    python bench/soak.py                    # 10 minutes
    python bench/soak.py --duration 180     # the run recorded in bench/README.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from soak.checks import Kill, classify, missing, per_minute  # noqa: E402
from soak.faults import Fault, Reindexer, current_build_version  # noqa: E402
from soak.replicas import Replica, environ, kbassist, own_database, replica_env  # noqa: E402
from soak.traffic import Flows, Keys, Router  # noqa: E402

RSS_EVERY = 5.0
WRITES = {"events", "event", "link", "outcome", "redemption"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The soak's options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="Seconds of traffic (default 600).")
    parser.add_argument("--clients", type=int, default=6, help="Client threads sending flows.")
    parser.add_argument("--think-ms", type=float, default=20.0, help="Pause of a client between flows.")
    parser.add_argument("--reindex-every", type=float, default=60.0, help="Seconds between article changes.")
    parser.add_argument("--kill-at", type=float, default=0.4, help="When replica B is SIGKILLed (fraction of the run).")
    parser.add_argument("--restart-after", type=float, default=3.0, help="Seconds B stays down before its restart.")
    parser.add_argument("--ports", type=int, nargs=2, default=(18801, 18802), metavar=("A", "B"))
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/kbassist-soak"), help="Index, models, logs.")
    parser.add_argument("--keep-db", action="store_true", help="Keep the run's PostgreSQL database.")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    if args.duration <= 0 or not 0 < args.kill_at < 1 or args.clients < 1 or args.agents < 1:
        parser.error("--duration > 0, 0 < --kill-at < 1, --clients >= 1 and --agents >= 1 are required")
    return args


def say(line: str = "") -> None:
    """One line of the report, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def create_keys(database_url: str, agents: list[str]) -> tuple[Keys, str]:
    """Keys for the agents, the ticket system (integration) and an admin."""
    from sqlmodel import Session

    from service.db import make_engine
    from service.keys import crud

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            made = {a: crud.create_api_key(session=session, role="agent", agent_id=a)[1] for a in agents}
            integration = crud.create_api_key(session=session, role="integration")[1]
            admin = crud.create_api_key(session=session, role="admin")[1]
    finally:
        engine.dispose()
    return Keys(made, integration), admin


def grant(url: str, admin: str, agents: list[str], flows: Flows) -> None:
    """Register the agents and give each 10,000 points to redeem (acknowledged entries, checked at the end)."""
    with httpx.Client(base_url=url, headers={"X-API-Key": admin}, timeout=30) as client:
        for agent in agents:
            client.put(f"/v1/agents/{agent}", json={"display_name": agent, "team": "soak"}).raise_for_status()
            key = uuid.uuid4().hex
            body = {"agent_id": agent, "points": 10_000, "reason": "soak budget", "idempotency_key": key}
            answer = client.post("/v1/credits/adjustments", json=body)
            answer.raise_for_status()
            flows.acks.entry(answer.json()["entry"]["id"], key)


def queries() -> list[str]:
    """The golden queries (Chinese and English)."""
    import json

    lines = (ROOT / "eval" / "golden" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the report; 0 when every check passed."""
    args = parse_args(argv)
    data_dir = args.data_dir.resolve()
    content, logs = data_dir / "content", data_dir / "logs"
    shutil.rmtree(content, ignore_errors=True)
    shutil.copytree(ROOT / "kb_content", content)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    agents = [f"soak-{i:02d}" for i in range(1, args.agents + 1)]
    with own_database(args.keep_db) as database_url:
        env = replica_env(environ(), database_url=database_url, data_dir=data_dir, content_dir=content)
        return soak(args, env, database_url, content, logs, agents)


def soak(
    args: argparse.Namespace, env: dict[str, str], database_url: str, content: Path, logs: Path, agents: list[str]
) -> int:
    """Everything after the database exists: build, start, traffic with faults, checks, report."""
    say(f"soak {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.duration:.0f} s, {args.clients} clients")
    say(f"  database {database_url.rsplit('/', 1)[1]}, data {env['KB_DATA_DIR']}, load {os.getloadavg()[0]:.2f}")
    kbassist(env, "db", "upgrade")
    began = time.monotonic()
    initial = kbassist(env, "index", "--content", str(content))
    embedded = next((line.strip() for line in initial.stdout.splitlines() if "embedded" in line), "")
    say(f"initial index (before the clock): {time.monotonic() - began:.1f} s; {embedded}")
    keys, admin = create_keys(database_url, agents)
    replicas = {n: Replica(n, p, env, logs) for n, p in zip("AB", args.ports, strict=True)}
    try:
        return drive(args, env, database_url, content, logs, agents, keys, admin, replicas)
    finally:
        for replica in replicas.values():  # whatever happened, no replica outlives the run
            if replica.process is not None:
                replica.stop()


def drive(
    args: argparse.Namespace,
    env: dict[str, str],
    database_url: str,
    content: Path,
    logs: Path,
    agents: list[str],
    keys: Keys,
    admin: str,
    replicas: dict[str, Replica],
) -> int:
    """Start the replicas, send the traffic with the faults, check and report."""
    for replica in replicas.values():
        replica.start()
    ready = {n: r.wait_ready(600) for n, r in replicas.items()}
    say("replicas ready in " + ", ".join(f"{n} {s:.1f} s (:{replicas[n].port})" for n, s in ready.items()))
    router = Router({n: r.url for n, r in replicas.items()})
    flows = Flows(router, keys, queries(), clock=time.monotonic(), tag=uuid.uuid4().hex[:6], seed=args.seed)
    grant(replicas["A"].url, admin, agents, flows)
    for replica in replicas.values():
        replica.note_rss("start")

    stop = threading.Event()
    clock = time.monotonic()
    flows.clock = clock
    reindexer = Reindexer(env, content, clock, args.reindex_every)
    fault = Fault(replicas["B"], clock, args.duration * args.kill_at, args.restart_after)
    threads = [
        threading.Thread(target=reindexer.run, args=(stop,), name="soak-reindex", daemon=True),
        threading.Thread(target=fault.run, name="soak-fault", daemon=True),
    ]
    for thread in threads:
        thread.start()
    clients = flows.run(args.clients, stop, args.think_ms / 1000)
    rss: dict[int, dict[str, float]] = {}
    while (now := time.monotonic()) < clock + args.duration:
        minute = rss.setdefault(int((now - clock) // 60), {})
        for name, replica in replicas.items():
            minute[name] = max(minute.get(name, 0.0), replica.rss())
        time.sleep(min(RSS_EVERY, max(0.0, clock + args.duration - now)))
    stop.set()
    for thread in clients:
        thread.join(60)
    ran = time.monotonic() - clock
    for replica in replicas.values():
        replica.note_rss("end")
    for thread in threads:
        thread.join(600)
    kill = fault.kill
    if kill is None:
        raise SystemExit(fault.error)

    last = current_build_version(env)
    deadline = time.monotonic() + 60
    serving: dict[str, object] = {}
    while time.monotonic() < deadline:
        serving = {n: (r.ready() or {}).get("index_version") for n, r in replicas.items()}
        if all(v == last for v in serving.values()):
            break
        time.sleep(0.5)
    lost = missing(database_url, flows.acks)
    tallies = classify(flows.calls, kill)
    verify = kbassist(env, "credits", "verify", check=False)
    exits = {n: r.stop() for n, r in replicas.items()}

    failures = report(args, ran, kill, reindexer, flows, tallies, lost, verify, replicas, rss)
    failures += report_builds(serving, last)
    say(f"replicas stopped (SIGTERM): exit codes {exits} (uvicorn re-raises SIGTERM after its graceful shutdown: -15)")
    say(f"logs in {logs}")
    say("RESULT: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 1 if failures else 0


def report(
    args: argparse.Namespace,
    ran: float,
    kill: Kill,
    reindexer: Reindexer,
    flows: Flows,
    tallies: dict[str, Any],
    lost: Any,
    verify: Any,
    replicas: dict[str, Replica],
    rss: dict[int, dict[str, float]],
) -> list[str]:
    """Print the figures; the failed checks."""
    failures: list[str] = []
    acks = flows.acks
    say(
        f"ran {ran:.1f} s; B SIGKILLed at {kill.at:.1f} s, started again {args.restart_after:.0f} s later, "
        f"ready again at {kill.ready_at:.1f} s (its start-up took {kill.ready_at - kill.at - args.restart_after:.1f} s)"
    )
    for run in reindexer.runs:
        say(
            f"reindex at {run['at']:6.1f} s: {run['article']} -> {run['version']} in {run['seconds']:.1f} s "
            f"(rc {run['rc']}; {run['summary']})"
        )
        if run["rc"] != 0:
            failures.append(f"reindex at {run['at']:.0f} s failed")
    for name in replicas:
        t = tallies.get(name)
        if t is None:
            continue
        say(f"replica {name}: {t.ok} answered 2xx, {len(t.errors)} errors, {t.lost} lost (connection failed)")
        for call in t.errors[:10]:
            answered = acks.suggestions.get(call.suggestion_id or "")
            about = f"; suggestion answered by {answered[0]} at {answered[1]:.2f} s" if answered else ""
            say(f"    error: {call.op} at {call.at:.2f} s took {call.ms:.0f} ms -> {call.status} {call.code}{about}")
        if t.errors:
            failures.append(f"{len(t.errors)} errors on replica {name}")
        if name != kill.replica and t.lost:
            failures.append(f"requests lost on the surviving replica {name}")
    acks = flows.acks
    say(
        f"acknowledged: {len(acks.events)} events/links, {len(acks.outcomes)} outcomes, {len(acks.entries)} "
        f"ledger entries; missing from the database: {len(lost.events)}, {len(lost.outcomes)}, {len(lost.entries)}"
    )
    if lost.events or lost.outcomes or lost.entries:
        failures.append("acknowledged writes missing from the database")
    say(f"suggestions answered 2xx: {len(acks.suggestions)}; missing from the database: {len(lost.suggestions)}")
    if lost.suggestions:
        failures.append(f"{len(lost.suggestions)} answered suggestions missing from the database")
    say(f"kbassist credits verify: rc {verify.returncode}: {(verify.stdout + verify.stderr).strip()[:500]}")
    if verify.returncode != 0:
        failures.append("credits verify")
    say("latency per minute of the run (2xx; writes = events, links, outcomes, redemptions):")
    say("  minute   suggest n   p50 ms   p99 ms    writes n   p50 ms   p99 ms   peak RSS MiB")
    suggest = {m: row for m, *row in per_minute(flows.calls, {"suggest"})}
    writes = {m: row for m, *row in per_minute(flows.calls, WRITES)}
    for m in sorted(set(suggest) | set(writes)):
        s, w = suggest.get(m, [0, float("nan"), float("nan")]), writes.get(m, [0, float("nan"), float("nan")])
        memory = "  ".join(f"{n} {v:.0f}" for n, v in rss.get(m, {}).items())
        say(f"  {m:6d} {s[0]:11d} {s[1]:8.1f} {s[2]:8.1f} {w[0]:11d} {w[1]:8.1f} {w[2]:8.1f}   {memory}")
    if len(suggest) > 1:
        first, final = suggest[min(suggest)], suggest[max(suggest)]
        say(
            f"  drift, last minute vs first: suggest p50 {final[1] - first[1]:+.1f} ms, "
            f"p99 {final[2] - first[2]:+.1f} ms"
        )
    for name, replica in replicas.items():
        lives = "; ".join(
            f"pid {int(life['pid'])}: start {life.get('start', 0):.0f} MiB, end {life.get('end', 0):.0f} MiB"
            + (" (SIGKILL)" if name == kill.replica and i == 0 else "")
            for i, life in enumerate(replica.lives)
        )
        say(f"RSS {name}: {lives}")
    return failures


def report_builds(serving: dict[str, object], last: str | None) -> list[str]:
    """Print the build each replica serves beside the last one published; the failed check."""
    say(f"last build published: {last}; serving: " + ", ".join(f"{n} {v}" for n, v in serving.items()))
    return ["a replica does not serve the last build"] if any(v != last for v in serving.values()) else []


if __name__ == "__main__":
    sys.exit(main())
