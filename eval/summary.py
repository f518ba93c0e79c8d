"""Summarise ``eval/results.sh`` output (``eval/out/*.json``) as the Markdown tables of eval/RESULTS.md.

Usage: ``python -m eval.summary eval/out > table.md``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eval.report import LABELS

ORDER = ("banking77", "clinc150", "stackfaq", "baoxianzhidao", "tianchi_covid_qq", "bq_intents")


def load(folder: Path) -> list[dict[str, Any]]:
    """Every result file in ``folder``, in the peer table's row order."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json") if p.stat().st_size}
    return [found[n] for n in (*ORDER, *sorted(set(found) - set(ORDER))) if n in found]


def compact(results: list[dict[str, Any]]) -> str:
    """One row per dataset, one ``R@5 / MRR@10`` cell per configuration (peer-table layout); best cell bold."""
    configs = list(dict.fromkeys((r["backend"], r["mode"]) for d in results for r in d["runs"]))
    lines = ["| set | " + " | ".join(f"{m} {b}" for b, m in configs) + " |", "|---" * (len(configs) + 1) + "|"]
    for d in results:
        runs = {(r["backend"], r["mode"]): r for r in d["runs"]}
        best = max(r["metrics"]["mrr@10"] for r in d["runs"])
        cells = []
        for c in configs:
            m = runs[c]["metrics"] if c in runs else None
            cell = f"{m['recall@5']:.3f} / {m['mrr@10']:.3f}" if m else "–"
            cells.append(f"**{cell}**" if m and m["mrr@10"] == best else cell)
        lines.append(f"| {d['dataset']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def full(results: list[dict[str, Any]]) -> str:
    """Every metric of every configuration, one row per (dataset, backend, mode)."""
    lines = [
        "| set | backend | mode | " + " | ".join(LABELS.values()) + " | no-answer P / R | p50 ms | p95 ms |",
        "|---" * (6 + len(LABELS)) + "|",
    ]
    for d in results:
        for r in d["runs"]:
            m, ans, lat = r["metrics"], r["answerable"], r["latency_ms"]
            cells = [
                d["dataset"],
                r["backend"],
                r["mode"],
                *(f"{m[k]:.3f}" for k in LABELS),
                f"{ans['precision']:.3f} / {ans['recall']:.3f}" if ans else "–",
                f"{lat['p50']:.1f}",
                f"{lat['p95']:.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """Write both tables for the folder given as the only argument."""
    results = load(Path(argv[0] if argv else "eval/out"))
    sys.stdout.write(compact(results) + "\n\n" + full(results) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
