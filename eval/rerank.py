"""A learned reranker and answerability scorer over the hybrid candidates' signals, scored leave-one-dataset-out.

``kbassist eval rerank`` (an experiment; nothing here runs in the service). Per query, the
top :data:`TOP_N` candidates of the shipped hybrid ranking get a feature vector
(:func:`cell_features`: each model's cosine, best chunk and chunks' mean, BM25, title and
tag coverage, character overlap of query and title, the hybrid score, each score's gap to
the query's best and its rank there, the query's language and length). LightGBM then learns:

- a *ranker* (lambdarank) that reorders the top candidates;
- an *answerability* classifier over the top candidate's features and the query's score
  gaps: the probability that the query has an answer in the KB. Its no-answer training
  queries come from leaving a seeded share of each set's articles out of the cached
  candidates (as ``kbassist eval calibrate`` does with real rebuilt indexes) and from
  clinc150's out-of-scope queries.

Both are fitted on five public sets and scored on the sixth, for each set; the golden set
is scored by models fitted on all six and is never trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eval.candidates import Features, Mask, Matrix
from eval.holdout import Setting, dense_scores, hybrid_scores, measures
from eval.metrics import precision_recall

TOP_N = 20
LEAVE_OUT_SHARE = 0.25
SEED = 13
PRECISION_GOAL = 0.9
CELL_FEATURES = (
    "use", "st", "use_mean", "st_mean", "bm25", "same_lang", "title", "overlap",
    "hybrid", "hybrid_gap", "hybrid_rank", "use_gap", "use_rank", "st_gap", "st_rank", "bm25_rank",
    "english", "log_chars", "n_candidates",
)  # fmt: skip
QUERY_FEATURES = ("top_gap2", "top_gap5", "top_score", "max_use", "max_st", "n_top")

Array = NDArray[np.float64]


def _bigrams(text: str) -> set[str]:
    t = "".join(str(text).lower().split())
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def _ranks(x: Matrix, valid: Mask) -> Matrix:
    order = np.argsort(-np.where(valid, np.nan_to_num(x, nan=-np.inf), -np.inf), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(x.shape[1])[None, :].repeat(len(x), 0), 1)
    return ranks.astype(np.float32)


def _gap(x: Matrix, valid: Mask) -> Matrix:
    filled = np.where(valid & np.isfinite(x), x, -np.inf)
    best = filled.max(1, keepdims=True)
    best = np.where(np.isfinite(best), best, 0.0)  # a query without candidates has no gaps
    return np.asarray(np.where(np.isfinite(filled), np.nan_to_num(x) - best, np.nan), np.float32)


@dataclass(frozen=True, slots=True)
class Cells:
    """One set's top candidates as rows for LightGBM.

    Attributes:
        x: one row per (query, candidate) cell, :data:`CELL_FEATURES` order.
        query: each row's query index; rows of a query are contiguous, in hybrid order.
        column: each row's column in the set's matrices.
        hybrid: the shipped hybrid score of every cell (the order outside the top).
    """

    x: Array
    query: NDArray[np.int64]
    column: NDArray[np.int64]
    hybrid: Matrix


def cell_features(f: Features, shipped: Setting) -> Cells:
    """The :data:`TOP_N` best cells of every query under the shipped hybrid ranking, with their features."""
    dense = dense_scores(f, shipped.mix, shipped.effective_use_weight(f), shipped.article_score)
    hybrid = hybrid_scores(
        f, dense, shipped.lexical_weight, shipped.lexical_weight_en, shipped.lexical_cap, shipped.title_weight
    )
    valid = f.valid
    hybrid = np.where(valid, hybrid, -np.inf).astype(np.float32)
    top_bm25 = f.bm25.max(1, keepdims=True)
    bm25 = np.where(top_bm25 > 0, f.bm25 / np.where(top_bm25 > 0, top_bm25, 1.0), 0.0)
    title = f.title if f.title is not None else np.zeros(f.use.shape, np.float32)
    overlap = np.zeros(f.use.shape, np.float32)
    if f.titles is not None:
        grams = [_bigrams(t) for t in f.titles]
        for i, text in enumerate(f.text):
            q = _bigrams(str(text))
            for j in np.flatnonzero(f.article[i] >= 0):
                overlap[i, j] = len(q & grams[f.article[i, j]]) / len(q)
    n = valid.sum(1, keepdims=True).astype(np.float32)
    chars = np.array([len(str(t)) for t in f.text], np.float32)[:, None]
    columns: dict[str, Matrix] = {
        "use": np.where(valid, f.use, np.nan).astype(np.float32),
        "st": f.st,
        "use_mean": np.where(valid, f.use_mean, np.nan).astype(np.float32),
        "st_mean": f.st_mean,
        "bm25": bm25.astype(np.float32),
        "same_lang": f.same_lang.astype(np.float32),
        "title": title,
        "overlap": overlap,
        "hybrid": hybrid,
        "hybrid_gap": _gap(hybrid, valid),
        "hybrid_rank": _ranks(hybrid, valid),
        "use_gap": _gap(f.use, valid),
        "use_rank": _ranks(f.use, valid),
        "st_gap": _gap(f.st, valid),
        "st_rank": _ranks(f.st, valid),
        "bm25_rank": _ranks(f.bm25, valid),
        "english": np.broadcast_to(f.english[:, None], f.use.shape).astype(np.float32),
        "log_chars": np.broadcast_to(np.log1p(chars), f.use.shape),
        "n_candidates": np.broadcast_to(n, f.use.shape),
    }
    order = np.argsort(-hybrid, axis=1, kind="stable")[:, :TOP_N]
    keep = np.take_along_axis(valid, order, 1)
    qi, k = np.nonzero(keep)
    col = order[qi, k]
    x = np.stack([columns[name][qi, col] for name in CELL_FEATURES], 1).astype(np.float64)
    return Cells(x, qi.astype(np.int64), col.astype(np.int64), hybrid)


def leave_articles_out(f: Features, share: float, seed: int) -> Features:
    """``f`` as if a seeded ``share`` of its articles were not in the KB: their cells become padding, and a
    query one of them answered becomes a no-answer query (``n_relevant`` 0)."""
    rng = np.random.default_rng(seed)
    dropped = rng.random(len(f.article_ids)) < share
    gone = (f.article >= 0) & dropped[np.maximum(f.article, 0)]
    lost: Mask = np.asarray((gone & f.relevant).any(1), bool)
    return dataclasses.replace(
        f,
        use=np.where(gone, -np.inf, f.use).astype(np.float32),
        st=np.where(gone, np.nan, f.st).astype(np.float32),
        use_mean=np.where(gone, -np.inf, f.use_mean).astype(np.float32),
        st_mean=np.where(gone, np.nan, f.st_mean).astype(np.float32),
        bm25=np.where(gone, 0.0, f.bm25).astype(np.float32),
        relevant=f.relevant & ~gone & ~lost[:, None],
        n_relevant=np.where(lost, 0, f.n_relevant),
        article=np.where(gone, -1, f.article).astype(np.int32),
        title=None if f.title is None else np.where(gone, 0.0, f.title).astype(np.float32),
    )


def concat(parts: Sequence[Features]) -> Features:
    """The queries of several collections of one KB as one (padded to the widest, article indices merged)."""
    width = max(p.use.shape[1] for p in parts)
    index: dict[str, int] = {}
    titles: dict[str, str] = {}
    for p in parts:
        for i, a in enumerate(p.article_ids):
            index.setdefault(str(a), len(index))
            if p.titles is not None:
                titles[str(a)] = str(p.titles[i])
    merged = [
        np.where(p.article >= 0, np.array([index[str(a)] for a in p.article_ids] + [-1])[p.article], -1) for p in parts
    ]
    out: dict[str, object] = {
        "article_ids": np.array(list(index), dtype=np.str_),
        "calibrated": parts[0].calibrated,
        "titles": np.array([titles.get(a, "") for a in index], dtype=np.str_) if titles else None,
    }
    pads = {"use": -np.inf, "use_mean": -np.inf, "st": np.nan, "st_mean": np.nan, "article": -1}
    for field in dataclasses.fields(Features):
        if field.name in out:
            continue
        values = merged if field.name == "article" else [getattr(p, field.name) for p in parts]
        if values[0] is None:
            out[field.name] = None
        elif values[0].ndim == 2:
            fill = pads.get(field.name, 0)
            out[field.name] = np.concatenate(
                [np.pad(v, ((0, 0), (0, width - v.shape[1])), constant_values=fill) for v in values]
            )
        else:
            out[field.name] = np.concatenate(values)
    return Features(**out)  # type: ignore[arg-type]


def rows(f: Features, keep: Mask) -> Features:
    """The queries of ``f`` where ``keep``."""
    per_query = {
        field.name: getattr(f, field.name)[keep]
        for field in dataclasses.fields(Features)
        if field.name not in ("article_ids", "calibrated", "titles") and getattr(f, field.name) is not None
    }
    return dataclasses.replace(f, **per_query)


def query_features(cells: Cells, score: Array, n_queries: int) -> Array:
    """Per query: the features of its best cell under ``score`` plus :data:`QUERY_FEATURES`."""
    out = np.full((n_queries, len(CELL_FEATURES) + len(QUERY_FEATURES)), np.nan)
    order = np.lexsort((-score, cells.query))
    q, s, x = cells.query[order], score[order], cells.x[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    ends = np.r_[starts[1:], len(q)]
    use, st = CELL_FEATURES.index("use"), CELL_FEATURES.index("st")
    for a, b in zip(starts, ends, strict=True):
        i = q[a]
        top = s[a]
        out[i, : len(CELL_FEATURES)] = x[a]
        out[i, len(CELL_FEATURES) :] = (
            top - (s[a + 1] if b - a > 1 else top - 1),
            top - s[min(a + 4, b - 1)],
            top,
            np.nanmax(x[a:b, use]),
            np.nanmax(x[a:b, st]) if np.isfinite(x[a:b, st]).any() else np.nan,
            float(b - a),
        )
    return out


def pr_curve(p_answer: Array, no_answer: NDArray[np.bool_]) -> list[tuple[float, float, float]]:
    """(threshold, no-answer precision, recall) of flagging ``p < threshold``, for every distinct threshold."""
    out = []
    for t in np.unique(p_answer):
        pr, rc = precision_recall((p_answer <= t).tolist(), no_answer.tolist())
        out.append((float(t), pr, rc))
    return out


def recall_at(curve: Sequence[tuple[float, float, float]], precision: float) -> float:
    """Highest recall the curve reaches at ``precision`` or more (a ceiling: chosen on the scored data)."""
    return max((r for _, p, r in curve if p >= precision), default=0.0)


def reranked(cells: Cells, pred: Array) -> Matrix:
    """Every cell's score with the top candidates reordered by ``pred`` above the rest."""
    score = cells.hybrid.copy()
    score[cells.query, cells.column] = 1e3 + pred
    return score


def ranking_scores(f: Features, score: Matrix) -> tuple[float, float]:
    """R@5 and MRR@10 over the answerable queries."""
    return measures(rows(f, f.n_relevant > 0), score[f.n_relevant > 0])
