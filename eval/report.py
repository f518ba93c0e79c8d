"""Render evaluation results: the ``--json`` payload, Markdown tables and a Recall@k chart."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from eval.run import Dataset, RunReport
from eval.stats import Comparison

LABELS = {"recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


def config_name(run: RunReport) -> str:
    """Short name of a configuration, e.g. ``use-multilingual/hybrid``."""
    return f"{run.backend}/{run.mode}"


def one_factor_pairs(runs: Sequence[RunReport]) -> list[tuple[str, str]]:
    """Pairs of configurations that differ in one factor: the mode (same backend) or the backend (same mode).

    Lexical runs of different backends are skipped: BM25 does not use the embedder, so they are identical.
    """
    out = []
    for a, b in combinations(runs, 2):
        if (a.backend == b.backend) != (a.mode == b.mode) and not a.mode == b.mode == "lexical":
            out.append((config_name(a), config_name(b)))
    return out


def payload(dataset: Dataset, runs: Sequence[RunReport]) -> dict[str, Any]:
    """The ``--json`` document (shape documented in README "Evaluation")."""
    return {"dataset": dataset.name, "n_queries": len(dataset.queries), "runs": [r.to_json() for r in runs]}


def markdown(data: dict[str, Any]) -> str:
    """Markdown tables: one row per configuration, then per language when there are several."""
    head = "| backend | mode | " + " | ".join(LABELS.values()) + " | no-answer P / R | p50 ms | p95 ms |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for run in data["runs"]:
        m, ans, lat = run["metrics"], run["answerable"], run["latency_ms"]
        cells = [
            run["backend"],
            run["mode"],
            *(f"{m[k]:.3f}" for k in LABELS),
            f"{ans['precision']:.3f} / {ans['recall']:.3f}" if ans else "–",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    langs = sorted({lang for run in data["runs"] for lang in run["by_lang"]})
    if len(langs) > 1:
        lines += [
            "",
            "| backend | mode | lang | " + " | ".join(LABELS.values()) + " |",
            "|" + "---|" * (3 + len(LABELS)),
        ]
        for run in data["runs"]:
            for lang in langs:
                m = run["by_lang"].get(lang)
                if m:
                    lines.append(
                        f"| {run['backend']} | {run['mode']} | {lang} | "
                        + " | ".join(f"{m[k]:.3f}" for k in LABELS)
                        + " |"
                    )
    return "\n".join(lines)


def comparisons_markdown(comparisons: Sequence[Comparison]) -> str:
    """Paired test results, one row per pair of configurations."""
    lines = ["| A | B | measure | A | B | p (paired randomization) | n |", "|---|---|---|---|---|---|---|"]
    for c in comparisons:
        mark = " *" if c.significant else ""
        lines.append(
            f"| {c.a} | {c.b} | {c.measure} | {c.mean_a:.3f} | {c.mean_b:.3f} | {c.p_value:.4f}{mark} | {c.n} |"
        )
    lines.append("\n\\* p < 0.05")
    return "\n".join(lines)


def plot(data: dict[str, Any], path: Path) -> None:
    """Save a grouped bar chart of Recall@1/5/10 per configuration as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = data["runs"]
    cutoffs = ("recall@1", "recall@5", "recall@10")
    width = 0.8 / len(cutoffs)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(runs)), 4.0))
    for i, key in enumerate(cutoffs):
        xs = [j + (i - 1) * width for j in range(len(runs))]
        ax.bar(xs, [r["metrics"][key] for r in runs], width, label=LABELS[key])
    ax.set_xticks(range(len(runs)), [f"{r['backend']}\n{r['mode']}" for r in runs], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Recall")
    ax.set_title(f"{data['dataset']}: Recall@k ({data['n_queries']} queries)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
