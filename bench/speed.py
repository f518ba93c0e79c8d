"""The suggest path beside its raw work, all rows measured in one run on the same queries.

Rows (closed loops, bounded windows):

- ``raw 1 thread`` / ``raw 2 procs``: what a suggest cannot avoid, no HTTP and none of our
  own work: the query embedded by the build's embedder (1 BLAS thread), FAISS top-k over
  the build's index, and the analyzer's terms scored by BM25 with a top-k cut.
- ``pipeline``: our full work in process (PII mask, normalisation, retrieval, snippets,
  answers, the serialised response), one thread; split by query language when there are several.
- ``http cN``: ``kbassist serve --workers W`` over loopback with N keep-alive clients
  (``bench/load_test.py``), with the server's CPU per request.

Machines are noisy (other jobs share the cores): only rows of one run compare, which is
why each run measures them all and prints the load average beside them.

    python bench/speed.py --dataset ../shared/datasets/tianchi_covid_qq --lang zh --stream norepeat
    python bench/speed.py                       # bundled kb_content/ and the golden queries

``--stream zipf`` draws the queries Zipf-distributed (repeats, like real customer traffic);
``norepeat`` shuffles them and sends each once per pass.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_test import cpu_seconds, percentile, run_http  # noqa: E402 - after the path set-up, as a script

CLI = [sys.executable, "-c", "from service.cli import main; main()"]


def read_queries(path: Path, lang: str | None) -> list[tuple[str, str]]:
    """``(query, lang)`` pairs of a queries JSONL file, restricted to ``lang`` when given."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["query"], r.get("lang") or "zh") for r in rows if lang is None or r.get("lang") == lang]


def stream(queries: list[tuple[str, str]], kind: str, length: int, seed: int) -> list[tuple[str, str]]:
    """The order queries are sent in: shuffled (``norepeat``) or Zipf-distributed (s = 1.1)."""
    rng = random.Random(seed)
    shuffled = queries[:]
    rng.shuffle(shuffled)
    if kind == "norepeat":
        return shuffled
    weights = [1 / (rank**1.1) for rank in range(1, len(shuffled) + 1)]
    return rng.choices(shuffled, weights=weights, k=length)


Window = tuple[list[float], float]
"""Latencies (s) of the calls measured in one loop, and that loop's CPU seconds."""


def closed_loop(work: Callable[[str], Any], texts: list[str], offset: int, warmup: float, duration: float) -> Window:
    """``work`` called back to back over ``texts`` for ``duration`` s after ``warmup``."""
    start = time.perf_counter() + warmup
    return timed_loop(work, texts, offset, start, start + duration)


def timed_loop(work: Callable[[str], Any], texts: list[str], offset: int, start: float, stop: float) -> Window:
    """The calls of ``work`` made between the ``perf_counter`` instants ``start`` and ``stop``."""
    out, i, cpu0 = [], offset, None
    while (began := time.perf_counter()) < stop:
        if cpu0 is None and began >= start:
            cpu0 = time.process_time()
        work(texts[i % len(texts)])
        if began >= start:
            out.append(time.perf_counter() - began)
        i += 1
    cpu = time.process_time() - (cpu0 or 0.0)
    return out, cpu


def summary(windows: list[Window], duration: float) -> dict[str, float]:
    """p50/p99 (ms), throughput and CPU ms per call of loops run over the same ``duration``."""
    values = sorted(v for latencies, _ in windows for v in latencies)
    return {
        "cpu_ms": sum(cpu for _, cpu in windows) / max(len(values), 1) * 1000,
        "p50_ms": percentile(values, 50) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "qps": len(values) / duration,
    }


class Work:
    """The loaded build and the two kinds of work measured on it."""

    def __init__(self, top_k: int) -> None:
        import numpy as np

        from indexer.config import Settings
        from indexer.factory import load_retriever
        from service.config import ServiceSettings
        from service.pii import PIIMasker
        from service.suggestions.routes import build_response

        self.np, self.top_k = np, top_k
        self.retriever = load_retriever(Settings())
        self.settings = ServiceSettings()
        self.masker = PIIMasker(self.settings.pii_patterns)
        self.index = self.retriever.dense._index  # noqa: SLF001 - the raw row uses FAISS directly
        self._build_response = build_response

    def raw(self, query: str) -> None:
        """Embed, FAISS top-k, BM25 top-k: the model and the indexes, nothing of ours."""
        r, np = self.retriever, self.np
        vector = r.embedder.embed_queries([query])
        self.index.index.search(vector, self.top_k)  # FAISS itself, not our exact search over its vectors
        scores = r.lexical.scores(r.analyzer.tokens(query))
        np.argpartition(-scores, min(self.top_k, len(scores) - 1))[: self.top_k]

    def pipeline(self, query: str) -> None:
        """What POST /v1/suggest computes for ``query``, minus HTTP."""
        r = self.retriever
        masked = self.masker.mask(query)
        result = r.search(
            masked.text, k=self.top_k, query_vector=r.embedder.embed_queries([r.normalize(masked.text)])[0]
        )
        response = self._build_response(result, r.version, masked.text, {}, self.settings.answer_max_chars, started=0.0)
        response.model_dump_json()


def raw_processes(work: Work, texts: list[str], procs: int, warmup: float, duration: float) -> dict[str, float]:
    """The raw work in ``procs`` processes forked from this one, in one common window (no shared GIL)."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = time.perf_counter() + 0.5 + warmup  # perf_counter is CLOCK_MONOTONIC: one clock for all processes
    step = max(1, len(texts) // procs)
    workers = [
        ctx.Process(target=lambda n=n: out.put(timed_loop(work.raw, texts, n * step, start, start + duration)))
        for n in range(procs)
    ]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    return summary(results, duration)


def serve(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``kbassist serve`` and wait until /health answers."""
    import http.client

    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers)], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not become ready in 120 s")


def prepare(args: argparse.Namespace, env: dict[str, str]) -> str:
    """Index the content into the scratch data dir (once) and create an agent key."""
    from indexer.errors import IndexNotFound
    from indexer.versions import current_build

    try:
        current_build(Path(env["KB_DATA_DIR"]) / "index")
    except IndexNotFound:
        content = args.dataset / "articles.jsonl" if args.dataset else ROOT / "kb_content"
        subprocess.run([*CLI, "index", "--content", str(content)], env=env, check=True)
    created = subprocess.run(
        [*CLI, "keys", "create", "--role", "agent", "--agent-id", "bench"], env=env, check=True, capture_output=True
    )
    return created.stdout.decode().strip().splitlines()[-1]


def row(name: str, s: dict[str, float], extra: str = "") -> None:
    """One line of the report."""
    figures = f"p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms  {s['qps']:7.1f} q/s"
    sys.stdout.write(f"{name:<28} {figures}  cpu {s['cpu_ms']:5.2f} ms/req  {extra}\n")
    sys.stdout.flush()


def main() -> None:
    """Measure every row and print the report with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, help="A shared-format dataset folder (default: bundled KB, golden).")
    parser.add_argument("--lang", help="Only the queries in this language.")
    parser.add_argument("--stream", choices=("norepeat", "zipf"), default="norepeat")
    parser.add_argument("--data-dir", type=Path, help="Scratch KB_DATA_DIR (default /tmp/kbassist-speed-NAME).")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    name = args.dataset.name if args.dataset else "bundled"
    data_dir = args.data_dir or Path(f"/tmp/kbassist-speed-{name}")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    os.environ.update({"KB_DATA_DIR": str(data_dir)})
    queries_file = args.dataset / "queries.jsonl" if args.dataset else ROOT / "eval" / "golden" / "queries.jsonl"
    queries = stream(read_queries(queries_file, args.lang), args.stream, 50_000, args.seed)
    texts = [q for q, _ in queries]
    key = prepare(args, env)
    load = os.getloadavg()
    sys.stdout.write(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  {name}  {len(set(texts))} distinct queries, "
        f"stream {args.stream}, top_k {args.top_k}, {args.duration:.0f} s windows, load {load[0]:.2f}\n"
    )
    work = Work(args.top_k)
    raw1 = summary([closed_loop(work.raw, texts, 0, args.warmup, args.duration)], args.duration)
    row("raw 1 thread", raw1)
    raw2 = raw_processes(work, texts, args.workers, args.warmup, args.duration)
    row(f"raw {args.workers} procs", raw2)
    pipe = summary([closed_loop(work.pipeline, texts, 0, args.warmup, args.duration)], args.duration)
    row("pipeline 1 thread", pipe, f"{pipe['p50_ms'] / raw1['p50_ms']:.2f}x raw p50")
    by_lang = sorted({lang for _, lang in queries})
    if len(by_lang) > 1:
        for lang in by_lang:
            subset = [q for q, ql in queries if ql == lang]
            rs = summary([closed_loop(work.raw, subset, 0, 0.5, args.duration / 2)], args.duration / 2)
            ps = summary([closed_loop(work.pipeline, subset, 0, 0.5, args.duration / 2)], args.duration / 2)
            row(f"  raw {lang}", rs)
            row(f"  pipeline {lang}", ps, f"{ps['p50_ms'] / rs['p50_ms']:.2f}x raw p50")
    del work
    server = serve(args.port, args.workers, env)
    try:
        url = f"http://127.0.0.1:{args.port}"
        for clients in (1, 8):
            cpu0 = cpu_seconds(server.pid)
            s = run_http(url, key, texts, clients, args.duration, args.warmup, args.top_k)
            s["cpu_ms"] = (
                (cpu_seconds(server.pid) - cpu0) / max(s["requests"] * (1 + args.warmup / args.duration), 1) * 1000
            )
            ratio = (
                f"p50 raw +{s['p50_ms'] - raw1['p50_ms']:.2f} ms"
                if clients == 1
                else f"{s['qps'] / raw2['qps']:.0%} of raw {args.workers} procs"
            )
            row(f"http c{clients} ({args.workers} workers)", s, f"errors {s['errors']:.0f}  {ratio}")
    finally:
        server.terminate()
        server.wait(30)
    sys.stdout.write(f"load after: {os.getloadavg()[0]:.2f}\n")


if __name__ == "__main__":
    main()
