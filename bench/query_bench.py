"""In-process query latency on the current build, per query language and mode.

Loads the published index (``kbassist index`` first) with the configured embedder and
runs every golden query (``eval.datasets.GOLDEN_QUERIES``), masked as the service would, one at
a time. Prints p50/p95/p99 latency per language and mode, single-thread throughput and
peak memory.

    .venv/bin/python bench/query_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Run the benchmark and print one Markdown table."""
    from eval.datasets import GOLDEN_QUERIES
    from indexer.config import SEARCH_MODES, Settings
    from indexer.factory import load_retriever
    from indexer.lang import detect_lang

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=Path, default=GOLDEN_QUERIES)
    args = parser.parse_args()
    settings = Settings()
    t = time.perf_counter()
    retriever = load_retriever(settings)
    load_s = time.perf_counter() - t
    queries = [json.loads(line)["query"] for line in args.queries.open(encoding="utf-8") if line.strip()]
    for q in queries[:20]:
        retriever.search(q, k=5)
    print(
        f"build {retriever.version}: {len(retriever.articles)} articles, {retriever.n_chunks} chunks, "
        f"backend {settings.embedding_backend}, loaded in {load_s:.1f}s"
    )
    print("| mode | query lang | queries | p50 ms | p95 ms | p99 ms | q/s (1 thread) |")
    print("|---|---|---|---|---|---|---|")
    for mode in SEARCH_MODES:
        for lang in ("zh", "en"):
            subset = [q for q in queries if detect_lang(q) == lang]
            lat = []
            started = time.perf_counter()
            for _ in range(args.repeat):
                for q in subset:
                    t = time.perf_counter()
                    retriever.search(q, k=5, mode=mode)  # type: ignore[arg-type]
                    lat.append((time.perf_counter() - t) * 1000)
            qps = len(lat) / (time.perf_counter() - started)
            p50, p95, p99 = np.percentile(lat, [50, 95, 99])
            print(f"| {mode} | {lang} | {len(subset)} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {qps:.0f} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
