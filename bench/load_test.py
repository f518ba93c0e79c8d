"""Closed-loop load test of a running ``kbassist serve`` over loopback.

N client threads each hold one keep-alive ``http.client`` connection and send
POST /v1/suggest back to back for a bounded time (a thread per client adds far
less per request than an async client would). Then the same queries run
in process (embed + search, no HTTP) in ``--inproc-procs`` processes for the same
time, so the ratio shows what the service adds.

    python bench/load_test.py --key KEY --clients 8 --duration 20

Prints p50/p95/p99 latency, throughput, errors, the in-process limit and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.datasets import GOLDEN_QUERIES  # noqa: E402 - after the path set-up, as a script

FALLBACK = ["退款多久到账", "how do I cancel my order", "发票怎么开", "密码忘了怎么办", "运费险怎么赔"]


def load_queries(path: Path) -> list[str]:
    """Queries from a JSONL file with a ``query`` field (or a built-in handful)."""
    if not path.is_file():
        return FALLBACK
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["query"] for line in fh if line.strip()] or FALLBACK


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its child processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        pids.extend(int(c) for c in children)
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def client(
    url: str,
    key: str,
    queries: list[str],
    offset: int,
    top_k: int,
    warm_until: float,
    stop_at: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    """One closed-loop client: send, wait for the answer, repeat until ``stop_at``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    i = offset
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        body = json.dumps({"query": queries[i % len(queries)], "top_k": top_k}, ensure_ascii=False).encode()
        i += 1
        try:
            conn.request("POST", "/v1/suggest", body, headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
            ok, response = False, None
            errors.append(type(exc).__name__)
        done = time.perf_counter()
        if started < warm_until:
            continue
        if ok:
            latencies.append(done - started)
        elif response is not None:
            errors.append(str(response.status))
    conn.close()


def run_http(
    url: str, key: str, queries: list[str], clients: int, duration: float, warmup: float, top_k: int
) -> dict[str, float]:
    """Drive the server with ``clients`` threads; return latency percentiles (ms), q/s and errors."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    t0 = time.perf_counter()
    warm_until, stop_at = t0 + warmup, t0 + warmup + duration
    step = max(1, len(queries) // clients)
    threads = [
        threading.Thread(
            target=client, args=(url, key, queries, n * step, top_k, warm_until, stop_at, latencies[n], errors)
        )
        for n in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = sorted(v for per in latencies for v in per)
    return {
        "requests": len(values),
        "errors": len(errors),
        "qps": len(values) / duration,
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "mean_ms": statistics.fmean(values) * 1000 if values else float("nan"),
    }


def _search(retriever: Any, query: str, top_k: int) -> None:
    """What the route computes, minus HTTP: embed + search, and each hit's snippet (which may be lazy)."""
    for hit in retriever.search(query, k=top_k, include_internal=True).hits:
        _ = hit.snippet, hit.highlights


def _inproc_worker(
    queries: list[str], offset: int, top_k: int, warmup: float, duration: float, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    from indexer.config import Settings
    from indexer.factory import load_retriever

    retriever = load_retriever(Settings())
    i = offset
    t0 = time.perf_counter()
    while time.perf_counter() < t0 + warmup:
        _search(retriever, queries[i % len(queries)], top_k)
        i += 1
    count, stop_at, cpu0 = 0, time.perf_counter() + duration, time.process_time()
    while time.perf_counter() < stop_at:
        _search(retriever, queries[i % len(queries)], top_k)
        i += 1
        count += 1
    out.put((count, time.process_time() - cpu0))


def run_inproc(queries: list[str], procs: int, duration: float, warmup: float, top_k: int) -> tuple[float, float]:
    """Queries/s of embed + search with no HTTP in ``procs`` processes at once, and CPU ms per query."""
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    step = max(1, len(queries) // max(procs, 1))
    # Loading takes a few seconds; each process warms up for longer so the timed windows overlap.
    workers = [
        ctx.Process(target=_inproc_worker, args=(queries, n * step, top_k, warmup + 5, duration, out))
        for n in range(procs)
    ]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    count, cpu = sum(r[0] for r in results), sum(r[1] for r in results)
    return count / duration, cpu / max(count, 1) * 1000


def main() -> None:
    """Parse arguments, run both measurements and print the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="An API key (kbassist keys create --role agent ...).")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="Measured seconds per phase.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds before each phase.")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--queries", type=Path, default=GOLDEN_QUERIES, help="JSONL with a query field.")
    parser.add_argument(
        "--inproc-procs",
        type=int,
        default=2,
        help="Processes for the in-process limit (match the server's workers; 0 = skip).",
    )
    parser.add_argument("--server-pid", type=int, help="PID of `kbassist serve`: also report its CPU ms per request.")
    args = parser.parse_args()
    queries = load_queries(args.queries)
    cpu_before = cpu_seconds(args.server_pid) if args.server_pid else 0.0
    http_stats = run_http(args.url, args.key, queries, args.clients, args.duration, args.warmup, args.top_k)
    server_cpu_ms = None
    if args.server_pid:
        total = http_stats["requests"] * (args.duration + args.warmup) / args.duration
        server_cpu_ms = (cpu_seconds(args.server_pid) - cpu_before) / max(total, 1) * 1000
    print(f"HTTP  {args.clients} clients, {args.duration:.0f} s, {len(queries)} distinct queries, top_k={args.top_k}")
    print(
        f"  requests {http_stats['requests']:.0f}  errors {http_stats['errors']:.0f}  "
        f"throughput {http_stats['qps']:.1f} q/s"
    )
    print(
        f"  latency ms: p50 {http_stats['p50_ms']:.1f}  p95 {http_stats['p95_ms']:.1f}  "
        f"p99 {http_stats['p99_ms']:.1f}  mean {http_stats['mean_ms']:.1f}"
    )
    if server_cpu_ms is not None:
        print(f"  server CPU per request: {server_cpu_ms:.2f} ms")
    if args.inproc_procs > 0:
        limit, inproc_cpu_ms = run_inproc(queries, args.inproc_procs, args.duration, args.warmup, args.top_k)
        print(
            f"in-process limit (embed + search, {args.inproc_procs} process(es), no HTTP): {limit:.1f} q/s, "
            f"{inproc_cpu_ms:.2f} ms CPU per query"
        )
        print(f"  ratio HTTP / in-process throughput: {http_stats['qps'] / limit:.0%}")
        if server_cpu_ms is not None:
            print(
                f"  ratio in-process / server CPU per request: {inproc_cpu_ms / server_cpu_ms:.0%} "
                "(the throughput ratio on an otherwise idle machine)"
            )


if __name__ == "__main__":
    main()
