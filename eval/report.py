"""Render evaluation results: the ``--json`` payload, every Markdown table and a Recall@k chart.

Tables of ``kbassist eval run`` (one run), ``eval summary`` (eval/RESULTS.md from
``eval/results.sh`` output), ``eval breakdown`` (golden set by query type) and
``eval calibrate`` (no-answer detection per set).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from eval.calibrate import Sample, best_recall, matrix
from eval.datasets import Dataset
from eval.metrics import MEASURES, mrr_at, parse_measure, precision_recall, recall_at
from eval.overlap import NEAR_COPY
from eval.run import QueryResult, RunReport
from eval.stats import Comparison, roc_auc
from indexer.answerable import FEATURES, AnswerModel

# Row order of the public sets in eval/RESULTS.md (the peer table's); other sets follow by name.
ORDER = ("banking77", "clinc150", "stackfaq", "baoxianzhidao", "tianchi_covid_qq", "bq_intents")
_SHORT = {"recall": "R", "mrr": "MRR", "ndcg": "nDCG"}
# Column label of each reported measure, e.g. "recall@5" -> "R@5".
LABELS = {m: f"{_SHORT[base]}@{k}" for m in MEASURES for base, k in [parse_measure(m)]}


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
    """The ``--json`` document (shape documented in docs/evaluation.md)."""
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


def load_results(folder: Path) -> list[dict[str, Any]]:
    """Every result file in ``folder``, in the peer table's row order."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json") if p.stat().st_size}
    return [found[n] for n in (*ORDER, *sorted(set(found) - set(ORDER))) if n in found]


def summary_compact(results: list[dict[str, Any]]) -> str:
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


def summary_full(results: list[dict[str, Any]]) -> str:
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


def breakdown_markdown(run: RunReport, near_copies: Collection[str] = ()) -> str:
    """R@1, R@5, MRR@10 and near-copies of titles per query type (``meta.type``), language and overall; no-answer P / R.

    The near-copies also form a group of their own (``near-copy``), so an older edition shows
    what its title-like queries scored.

    Args:
        run: one configuration's results on the golden set.
        near_copies: ids of the queries that are near-copies of a relevant title (:mod:`eval.overlap`).

    No-answer detection is reported for all no-answer queries and for each no-answer type
    alone (e.g. off-topic ``unanswerable`` vs ``unanswerable_on_topic``), each time against
    every answerable query: precision counts the answerable queries wrongly flagged.
    """
    groups: dict[str, list[tuple[float, float, bool, float]]] = defaultdict(list)
    for res in run.scored():
        q = res.query
        row = (
            recall_at(res.ranking, q.relevant_ids, 5),
            mrr_at(res.ranking, q.relevant_ids, 10),
            q.query_id in near_copies,
            recall_at(res.ranking, q.relevant_ids, 1),
        )
        keys = [f"type={q.meta.get('type', '?')}", f"lang={q.lang}", "all"]
        for key in [*keys, "near-copy"] if row[2] else keys:
            groups[key].append(row)
    lines = ["| group | queries | R@1 | R@5 | MRR@10 | near-copies of titles |", "|---|---|---|---|---|---|"]
    for key in sorted(groups):
        rows = groups[key]
        r1 = sum(r[3] for r in rows) / len(rows)
        r5 = sum(r[0] for r in rows) / len(rows)
        mrr = sum(r[1] for r in rows) / len(rows)
        lines.append(f"| {key} | {len(rows)} | {r1:.3f} | {r5:.3f} | {mrr:.3f} | {sum(r[2] for r in rows)} |")
    total = groups.get("all", [])
    if total:
        n_near = sum(r[2] for r in total)
        lines.append(
            f"\nnear-copies of titles (bigram overlap >= {NEAR_COPY}): "
            f"{n_near}/{len(total)} answerable queries ({n_near / len(total):.1%})"
        )
    lines += _no_answer_lines(run)
    return "\n".join(lines)


def _no_answer_lines(run: RunReport) -> list[str]:
    """No-answer P / R of the ``answerable`` flag: all no-answer queries, then each no-answer type alone."""
    judged = run.scored()
    negatives = [r for r in run.results if not r.query.answerable]
    if not negatives:
        return []
    by_type: dict[str, list[QueryResult]] = defaultdict(list)
    for res in negatives:
        by_type[f"type={res.query.meta.get('type', '?')}"].append(res)
    lines = [
        "",
        "no-answer queries flagged answerable=false, against every answerable query:",
        "",
        "| no-answer queries | queries | flagged | P | R |",
        "|---|---|---|---|---|",
    ]
    for key, group in [("all", negatives), *sorted(by_type.items())]:
        results = [*judged, *group]
        p, r = precision_recall([not x.answerable for x in results], [not x.query.answerable for x in results])
        flagged = sum(not x.answerable for x in group)
        lines.append(f"| {key} | {len(group)} | {flagged} | {p:.3f} | {r:.3f} |")
    return lines


def calibration_markdown(
    sets: dict[str, list[Sample]], held_out: list[Sample], model: AnswerModel, precision: float
) -> str:
    """No-answer P / R and ROC AUC of ``model`` per set, the held-out ceiling, and the ROC AUC of every signal."""
    by_lang = {lang: [s for s in held_out if s.lang == lang] for lang in ("en", "zh")}
    lines = [calibration_table(sets, held_out, model), ""]
    for part, group in [*by_lang.items(), ("all", held_out)]:
        probs = [model.probability(s.signals, s.lang) for s in group]
        ceiling = best_recall(probs, [not s.answerable for s in group], precision)
        lines.append(
            f"golden {part}: best no-answer recall at precision >= {precision} "
            f"with a threshold chosen on golden itself (a ceiling): {ceiling:.3f}"
        )
    lines += ["", "ROC AUC of each signal alone (answerable = positive):", ""]
    lines += ["| set | " + " | ".join(FEATURES) + " |", "|---|" + "---|" * len(FEATURES)]
    for name, group in [*sets.items(), ("golden en", by_lang["en"]), ("golden zh", by_lang["zh"])]:
        x = matrix(group)
        aucs = [roc_auc(x[:, i].tolist(), [s.answerable for s in group]) for i in range(len(FEATURES))]
        lines.append(f"| {name} | " + " | ".join(f"{a:.3f}" for a in aucs) + " |")
    return "\n".join(lines)


def calibration_table(sets: dict[str, list[Sample]], held_out: list[Sample], model: AnswerModel) -> str:
    """One row per set, per golden language, for the whole golden set and for each golden no-answer type.

    A no-answer type's row scores it against every answerable golden query (so its precision counts
    the answerable queries wrongly flagged), e.g. off-topic against on-topic no-answer questions.
    """
    answerable = [s for s in held_out if s.answerable]
    kinds = sorted({s.kind for s in held_out if not s.answerable and s.kind})
    return "\n".join(
        [
            "| set | answerable + no-answer | P / R | ROC AUC | top dense ROC AUC | answerable kept |",
            "|---|---|---|---|---|---|",
            *(_calibration_row(name, group, model) for name, group in sets.items()),
            *(
                _calibration_row(f"golden {lang} (held out)", [s for s in held_out if s.lang == lang], model)
                for lang in ("en", "zh")
            ),
            _calibration_row("golden (held out)", held_out, model),
            *(
                _calibration_row(
                    f"golden, answerable + {kind} (held out)",
                    [*answerable, *(s for s in held_out if not s.answerable and s.kind == kind)],
                    model,
                )
                for kind in kinds
            ),
        ]
    )


def _calibration_row(name: str, samples: Sequence[Sample], model: AnswerModel) -> str:
    """One row of :func:`calibration_table`.

    Counts, no-answer P / R at the model's threshold, ROC AUC of the probability and of the top
    dense score, and the share of answerable queries left answerable (not flagged).
    """
    probs = [model.probability(s.signals, s.lang) for s in samples]
    answerable = [s.answerable for s in samples]
    flagged = [q < model.threshold for q in probs]
    p, r = precision_recall(flagged, [not a for a in answerable])
    n_neg = answerable.count(False)
    n_pos = len(samples) - n_neg
    kept = sum(a and not f for a, f in zip(answerable, flagged, strict=True)) / n_pos if n_pos else 0.0
    auc = roc_auc(probs, answerable)
    auc_dense = roc_auc([s.top_dense for s in samples], answerable)
    return f"| {name} | {n_pos} + {n_neg} | {p:.3f} / {r:.3f} | {auc:.3f} | {auc_dense:.3f} | {kept:.3f} |"
