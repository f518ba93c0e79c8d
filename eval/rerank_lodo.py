"""Leave-one-dataset-out fitting of :mod:`eval.rerank`'s ranker and answerability classifier, and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray

from eval.candidates import Features
from eval.holdout import Setting
from eval.rerank import (
    CELL_FEATURES,
    LEAVE_OUT_SHARE,
    PRECISION_GOAL,
    QUERY_FEATURES,
    SEED,
    Array,
    Cells,
    cell_features,
    concat,
    leave_articles_out,
    pr_curve,
    query_features,
    ranking_scores,
    recall_at,
    reranked,
)

RANKER: dict[str, Any] = {"objective": "lambdarank", "n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15,
          "min_child_samples": 20, "verbose": -1, "n_jobs": 1}  # fmt: skip
# The answerability classifier's inputs: the best cell's features and the query's score gaps.
ANSWER_FEATURES = CELL_FEATURES + QUERY_FEATURES
# Similarities only: adding the query's language, length or score gaps made golden worse still (the public
# sets' no-answer queries differ from golden's in those).
TRANSFER_FEATURES = ("use", "use_mean", "max_use", "title", "overlap")
MONOTONE = TRANSFER_FEATURES
HYBRID = CELL_FEATURES.index("hybrid")
CV_SEEDS = 5
RECALLS = (0.3, 0.4, 0.5, 0.6, 0.7)
CLASSIFIER: dict[str, Any] = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20,
              "verbose": -1, "n_jobs": 1}  # fmt: skip


@dataclass(slots=True)
class Prepared:
    """One set ready for fitting: ranking cells of its answerable queries, and the answerability collection."""

    f: Features
    cells: Cells
    labels: Array
    answer_f: Features
    answer_cells: Cells


def prepare(f: Features, shipped: Setting, oos: Features | None = None) -> Prepared:
    """The cells of ``f``, and of ``f`` with articles left out (plus out-of-scope queries ``oos``, same KB)."""
    cells = cell_features(f, shipped)
    labels = f.relevant[cells.query, cells.column].astype(np.float64)
    left = leave_articles_out(f, LEAVE_OUT_SHARE, SEED)
    answer_f = concat([left, oos]) if oos is not None else left
    return Prepared(f, cells, labels, answer_f, cell_features(answer_f, shipped))


def fit_ranker(parts: list[Prepared]) -> lgb.LGBMRanker:
    """Lambdarank on the answerable queries' top cells of ``parts``."""
    x = np.concatenate([p.cells.x for p in parts])
    y = np.concatenate([p.labels for p in parts])
    groups = np.concatenate([np.bincount(p.cells.query) for p in parts])
    groups = groups[groups > 0]
    model = lgb.LGBMRanker(**RANKER)
    model.fit(x, y, group=groups)
    return model


def answer_rows(p: Prepared) -> tuple[Array, Array]:
    """Per query of the answerability collection: features (of its best cell as the shipped hybrid ranks;
    the ranker's order did worse on golden) and whether it has an answer."""
    cells = p.answer_cells
    x = query_features(cells, cells.x[:, HYBRID], len(p.answer_f.text))
    return x, (p.answer_f.n_relevant > 0).astype(np.float64)


def fit_classifier(parts: list[tuple[Array, Array]], columns: Sequence[str]) -> lgb.LGBMClassifier:
    """Binary answerability on ``columns``; every set and both classes within it weigh the same. The
    similarity-only variant may only rise with its similarity signals (monotone), which transfers better."""
    idx = [ANSWER_FEATURES.index(c) for c in columns]
    x = np.concatenate([a[:, idx] for a, _ in parts])
    y = np.concatenate([b for _, b in parts])
    w = np.concatenate([np.where(b > 0, 0.5 / max(b.sum(), 1), 0.5 / max((1 - b).sum(), 1)) for _, b in parts])
    params = dict(CLASSIFIER)
    if tuple(columns) != ANSWER_FEATURES:
        params["monotone_constraints"] = [1 if c in MONOTONE else 0 for c in columns]
    model = lgb.LGBMClassifier(**params)
    model.fit(x, y, sample_weight=w * len(y) / len(parts))
    return model


def _predict(ranker: lgb.LGBMRanker, x: Array) -> Array:
    return np.asarray(ranker.predict(x), np.float64)


def _probability(model: lgb.LGBMClassifier, x: Array, columns: Sequence[str]) -> Array:
    return np.asarray(model.predict_proba(x[:, [ANSWER_FEATURES.index(c) for c in columns]]), np.float64)[:, 1]


def cross_validated(x: Array, y: Array, columns: Sequence[str], folds: int = 5, seed: int = SEED) -> Array:
    """Out-of-fold answer probabilities of a classifier fitted on the scored set itself: a diagnostic ceiling
    (what in-domain labelled no-answer queries would buy), never a shipped figure."""
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    out = np.zeros(len(y))
    idx = [ANSWER_FEATURES.index(c) for c in columns]
    for k in range(folds):
        train = fold != k
        model = lgb.LGBMClassifier(**{**CLASSIFIER, "num_leaves": 7, "min_child_samples": 10})
        model.fit(x[train][:, idx], y[train])
        out[~train] = np.asarray(model.predict_proba(x[~train][:, idx]), np.float64)[:, 1]
    return out


def _curve_cells(p: Array, no: NDArray[np.bool_]) -> list[str]:
    curve = pr_curve(p, no)
    cells = [f"{recall_at(curve, PRECISION_GOAL):.3f}"]
    cells += [f"{max((pr for _, pr, rc in curve if rc >= r), default=0.0):.3f}" for r in RECALLS]
    return cells


def experiment(public: Mapping[str, Features], oos: Features | None, golden: Features, shipped: Setting) -> str:
    """Fit on five sets, score the sixth, for each; then fit on all six and score golden. Markdown out.

    ``oos`` (clinc150's out-of-scope queries) joins clinc150's no-answer queries.
    """
    prepared = {n: prepare(f, shipped, oos if n == "clinc150" else None) for n, f in public.items()}
    lines = [
        "| held-out set | shipped hybrid R@5 / MRR@10 | reranked R@5 / MRR@10 | no-answer share | "
        "no-answer R at P ≥ 0.9: top USE cosine / classifier (all) / classifier (similarities) |",
        "|---|---|---|---|---|",
    ]
    for name, p in prepared.items():
        others = [q for n, q in prepared.items() if n != name]
        ranker = fit_ranker(others)
        base = ranking_scores(p.f, p.cells.hybrid)
        new = ranking_scores(p.f, reranked(p.cells, _predict(ranker, p.cells.x)))
        train = [answer_rows(q) for q in others]
        x, y = answer_rows(p)
        no = y == 0
        recalls = [
            recall_at(pr_curve(np.nan_to_num(x[:, ANSWER_FEATURES.index("max_use")], nan=-1.0), no), PRECISION_GOAL)
        ]
        for columns in (ANSWER_FEATURES, TRANSFER_FEATURES):
            prob = _probability(fit_classifier(train, columns), x, columns)
            recalls.append(recall_at(pr_curve(prob, no), PRECISION_GOAL))
        lines.append(
            f"| {name} | {base[0]:.3f} / {base[1]:.3f} | {new[0]:.3f} / {new[1]:.3f} | {no.mean():.2f} | "
            + " / ".join(f"{r:.3f}" for r in recalls)
            + " |"
        )
    parts = list(prepared.values())
    ranker = fit_ranker(parts)
    train = [answer_rows(q) for q in parts]
    cells = cell_features(golden, shipped)
    pred = _predict(ranker, cells.x)
    base = ranking_scores(golden, cells.hybrid)
    new = ranking_scores(golden, reranked(cells, pred))
    gx = query_features(cells, cells.x[:, HYBRID], len(golden.text))
    gy = (golden.n_relevant > 0).astype(np.float64)
    no = gy == 0
    lines += [
        "",
        f"Golden ({int((~no).sum())} answerable + {int(no.sum())} no-answer queries, never trained on): "
        f"R@5 / MRR@10 shipped hybrid {base[0]:.3f} / {base[1]:.3f}, reranked {new[0]:.3f} / {new[1]:.3f}.",
        "",
        "| golden no-answer scorer | recall at P ≥ 0.9 | " + " | ".join(f"P at R ≥ {r:.1f}" for r in RECALLS) + " |",
        "|---|---|" + "---|" * len(RECALLS),
    ]
    scorers: list[tuple[str, Array]] = [
        ("top USE cosine alone", np.nan_to_num(gx[:, ANSWER_FEATURES.index("max_use")], nan=-1.0)),
    ]
    for label, columns in (("all features", ANSWER_FEATURES), ("similarity features", TRANSFER_FEATURES)):
        prob = _probability(fit_classifier(train, columns), gx, columns)
        scorers.append((f"classifier, {label}, fitted on the six public sets", prob))
    for label, prob in scorers:
        lines.append(f"| {label} | " + " | ".join(_curve_cells(prob, no)) + " |")
    for label, columns in (("all features", ANSWER_FEATURES), ("similarity features", TRANSFER_FEATURES)):
        runs = [_curve_cells(cross_validated(gx, gy, columns, seed=SEED + k), no) for k in range(CV_SEEDS)]
        mean = np.mean(np.array(runs, dtype=np.float64), axis=0)
        name = f"diagnostic: golden 5-fold cross-validation, {label} (mean of {CV_SEEDS} splits)"
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in mean) + " |")
    return "\n".join(lines)
