"""Indexer benchmark: synthetic KBs of several sizes, built with the configured embedder.

Prints, per size: build time, chunks/s beside the embedder's raw throughput measured in
the same process just before the build (and their ratio), size on disk, peak memory of
the build, query latency p50/p99 per mode, and (for the size given by --reindex-size)
the time to publish after one article changes, wall and CPU. The machine's load average
at the start and end of each size is printed with it: timings taken while other work
runs are inflated, the ratio to the raw throughput much less so.

    .venv/bin/python bench/index_bench.py --sizes 1000,10000,100000

Each size runs in a fresh subprocess so peak memory is its own.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ZH = [
    "退款审核通过后原路退回",
    "银行卡一般一到七个工作日到账",
    "请在订单详情页查看物流状态",
    "质量问题退货运费由我们承担",
    "会员积分可以在下单时抵扣现金",
    "电子发票在签收后三个工作日内开具",
    "账号连续五次输错密码会被锁定三十分钟",
    "预售商品需要先支付定金",
    "如需修改收货地址请在出库前操作",
    "保修期内非人为损坏可免费维修",
]
EN = [
    "refunds return to the original payment method",
    "bank cards take one to seven working days",
    "track your parcel in the order details page",
    "we pay return shipping for faulty items",
    "points can be redeemed at checkout",
    "invoices are issued within three working days",
    "five wrong passwords lock the account for thirty minutes",
    "pre-sale items need a deposit first",
    "change the delivery address before dispatch",
    "repairs are free within the warranty period",
]


def make_kb(folder: Path, n: int, seed: int = 7) -> None:
    """Write ``n`` synthetic articles (2/3 Chinese) as one JSONL export."""
    rnd = random.Random(seed)
    with (folder / "kb.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            zh = i % 3 != 2
            pool = ZH if zh else EN
            sep = "。" if zh else ". "
            sentences = [rnd.choice(pool) + (f"{rnd.randint(1, 999)}" if rnd.random() < 0.5 else "") for _ in range(6)]
            body = sep.join(sentences) + sep
            title = f"{rnd.choice(pool)} #{i}"
            rec = {"id": f"syn-{i}", "title": title, "body": body, "lang": "zh" if zh else "en"}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def dir_size(path: Path) -> int:
    """Total bytes of files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prepare_models() -> None:
    """Load the configured embedder once, so its one-time export is cached before anything is measured."""
    from indexer.config import Settings
    from indexer.factory import make_embedder

    make_embedder(Settings(), threads=1).embed_documents(["warm up"])


def run_size(n: int, reindex: bool) -> dict[str, object]:
    """Build a KB of ``n`` articles and measure it (runs inside a subprocess)."""
    from indexer.build import BuildOptions, build_index
    from indexer.chunk import chunk_article, embed_text
    from indexer.config import SEARCH_MODES, Settings
    from indexer.factory import make_embedder
    from indexer.search import Retriever
    from indexer.sources import read_entries
    from indexer.versions import current_build

    load_start = os.getloadavg()[0]
    settings = Settings()
    tmp = Path(tempfile.mkdtemp(prefix=f"kbbench-{n}-"))
    make_kb(tmp, n)
    embedder = make_embedder(settings, threads=2)
    # Only the first articles, for the raw sample and the queries: the bench's own copy of a
    # 100k-article KB would count in the peak memory reported for the build.
    with (tmp / "kb.jsonl").open(encoding="utf-8") as fh:
        (tmp / "sample.jsonl").write_text("".join(itertools.islice(fh, 512)), encoding="utf-8")
    articles = [e.article for e in read_entries(tmp / "sample.jsonl") if e.article is not None]
    sample = [embed_text(a.title, c) for a in articles[:512] for c in chunk_article(a, settings.chunk_size)][:512]
    embedder.embed_documents(sample[:8])
    t = time.perf_counter()
    for i in range(0, len(sample), settings.embed_batch_size):
        embedder.embed_documents(sample[i : i + settings.embed_batch_size])
    raw = len(sample) / (time.perf_counter() - t)
    options = BuildOptions(
        chunk_size=settings.chunk_size, exact_max=settings.exact_index_max_vectors, batch_size=settings.embed_batch_size
    )
    root = tmp / "index"
    t = time.perf_counter()
    result = build_index(tmp / "kb.jsonl", root, embedder, options)
    build_s = time.perf_counter() - t
    out: dict[str, object] = {
        "articles": n,
        "chunks": result.n_chunks,
        "index": result.faiss_index,
        "build_s": round(build_s, 1),
        "chunks_per_s": round(result.n_chunks / build_s, 1),
        "raw_embed_per_s": round(raw, 1),
        "vs_raw": round(result.n_chunks / build_s / raw, 2),
        "disk_mb": round(dir_size(current_build(root)) / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }
    query_embedder = make_embedder(settings, threads=1)
    retriever = Retriever.load(current_build(root), query_embedder)
    queries = [a.title.split(" #")[0] + " 怎么办" for a in articles[:200]]
    for mode in SEARCH_MODES:
        lat = []
        for q in queries:
            t = time.perf_counter()
            retriever.search(q, k=5, mode=mode)
            lat.append((time.perf_counter() - t) * 1000)
        out[f"{mode}_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
        out[f"{mode}_p99_ms"] = round(float(np.percentile(lat, 99)), 2)
    if reindex:
        lines = (tmp / "kb.jsonl").read_text(encoding="utf-8").splitlines()
        rec = json.loads(lines[0])
        rec["body"] += "新增一句说明。"
        lines[0] = json.dumps(rec, ensure_ascii=False)
        (tmp / "kb.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        t, cpu = time.perf_counter(), time.process_time()
        again = build_index(tmp / "kb.jsonl", root, embedder, options)
        out["reindex_one_s"] = round(time.perf_counter() - t, 2)
        out["reindex_one_cpu_s"] = round(time.process_time() - cpu, 2)
        out["reindex_embedded_chunks"] = again.embedded_chunks
    out["load_start_end"] = f"{load_start:.1f}/{os.getloadavg()[0]:.1f}"
    return out


def main() -> None:
    """Run every size in its own process and print one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--reindex-size", type=int, default=10000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare_models()
        return
    if args.one:
        print(json.dumps(run_size(args.one, args.one == args.reindex_size)))
        return
    # The first load of an ONNX-run model exports it with torch (once per machine): not in a measured process.
    subprocess.run([sys.executable, __file__, "--prepare"], check=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--reindex-size", str(args.reindex_size)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")


if __name__ == "__main__":
    main()
