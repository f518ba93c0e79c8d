"""Leave-one-dataset-out tuning of hybrid fusion: fit on five public sets, score the sixth.

Searching a set again for every candidate setting would take hours, so each set is
searched once (:func:`collect`): for every query, the hybrid candidates with the
signals fusion combines (USE cosine, English-model cosine, BM25, language match) and
their labels, cached as one ``.npz`` per set. Every fusion rule and setting is then
scored on those matrices in numpy (:func:`score_grid`), and :func:`leave_one_out` picks,
for each set, the setting that does best on the other sets (mean of R@5 and MRR@10,
each set weighing the same) and reports how it does on the set left out.

Offline scores use each article's best chunk per signal, where search mixes chunk by
chunk; on the FAQ-style public sets (one or few chunks per article) the two agree to
within the noise, and the tables in eval/RESULTS.md quote ``kbassist eval run`` for the
shipped default.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from eval.data import Query
from indexer.config import EnsembleMix, Settings
from indexer.fusion import MIN_GAP, SAME_LANGUAGE_SHARE, TOP
from indexer.search import Retriever

log = logging.getLogger(__name__)

Matrix = NDArray[np.float32]
Mask = NDArray[np.bool_]
# Per setting, per set: (Recall@5, MRR@10).
Scores = dict["Setting", dict[str, tuple[float, float]]]

# How English dense scores are mixed (see :func:`dense_scores`).
MIXES: tuple[EnsembleMix, ...] = typing.get_args(EnsembleMix)
USE_WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
LEXICAL_WEIGHTS = (0.01, 0.02, 0.03, 0.05, 0.08)
LEXICAL_WEIGHTS_EN = (0.005, 0.01, 0.02, 0.03, 0.05)
LEXICAL_CAPS = (0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class Features:
    """One set's queries × candidate articles (padded; ``valid`` marks real cells).

    Attributes:
        english: per query, whether it is English.
        use: USE cosine (-inf on padding).
        st: English-model cosine; NaN where the query or the article has none.
        bm25: best-chunk BM25 score (0 on padding).
        same_lang: whether the article is in the query's language.
        relevant: whether the article is judged relevant.
        n_relevant: per query, how many articles are relevant (candidates or not).
        use_mean, st_mean: the article's mean chunk cosine of each model (same padding).
        article: index of the article in ``article_ids`` (-1 on padding).
        article_ids: the articles the cells refer to.
        text: per query, the text as searched (normalised).
    """

    english: Mask
    use: Matrix
    st: Matrix
    bm25: Matrix
    same_lang: Mask
    relevant: Mask
    n_relevant: NDArray[np.int64]
    use_mean: Matrix
    st_mean: Matrix
    article: NDArray[np.int32]
    article_ids: NDArray[np.str_]
    text: NDArray[np.str_]

    @property
    def valid(self) -> Mask:
        """Real (non-padding) cells."""
        return np.isfinite(self.use)

    def save(self, path: Path) -> None:
        """Write the matrices to ``path`` (``.npz``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **{name: getattr(self, name) for name in self.__slots__})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Features:
        """Read matrices written by :meth:`save`."""
        with np.load(path) as data:
            return cls(**{name: data[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Setting:
    """One point of the grid: how English dense scores mix, and the BM25 weight rule's constants."""

    mix: EnsembleMix
    use_weight: float
    lexical_weight: float
    lexical_weight_en: float
    lexical_cap: float

    def label(self) -> str:
        """Short text for tables."""
        mix = self.mix if self.mix == "confidence" else f"{self.mix} {self.use_weight:g}"
        return f"{mix}; w {self.lexical_weight:g} / en {self.lexical_weight_en:g}, cap {self.lexical_cap:g}"


def collect(retriever: Retriever, queries: Sequence[Query]) -> Features:
    """Search each answerable query once and keep its candidates' signals and labels."""
    rows = []
    for q in queries:
        if q.answerable:
            rows.append((q, retriever.candidate_signals(q.text)))
    width = max((len(c.article_ids) for _, c in rows), default=0)
    shape = (len(rows), width)
    use, st = np.full(shape, -np.inf, np.float32), np.full(shape, np.nan, np.float32)
    use_mean, st_mean = use.copy(), st.copy()
    bm25 = np.zeros(shape, np.float32)
    same, relevant = np.zeros(shape, bool), np.zeros(shape, bool)
    article = np.full(shape, -1, np.int32)
    index: dict[str, int] = {}
    for i, (q, c) in enumerate(rows):
        n = len(c.article_ids)
        use[i, :n], st[i, :n], bm25[i, :n], same[i, :n] = c.use, c.st, c.bm25, c.same_lang
        use_mean[i, :n], st_mean[i, :n] = c.use_mean, c.st_mean
        relevant[i, :n] = [a in q.relevant_ids for a in c.article_ids]
        article[i, :n] = [index.setdefault(a, len(index)) for a in c.article_ids]
    english = np.array([c.lang == "en" for _, c in rows], bool)
    n_relevant = np.array([len(q.relevant_ids) for q, _ in rows], np.int64)
    ids, text = np.array(list(index), dtype=np.str_), np.array([c.text for _, c in rows], dtype=np.str_)
    return Features(english, use, st, bm25, same, relevant, n_relevant, use_mean, st_mean, article, ids, text)


def cache_path(folder: Path, name: str, digest: str) -> Path:
    """Where the features of one set and configuration are cached."""
    return folder / f"{name}-{hashlib.sha256(digest.encode()).hexdigest()[:16]}.npz"


def _top_share(score: Matrix, same: Mask) -> NDArray[np.float32]:
    """Per query, the share of same-language articles among the :data:`TOP` best by ``score``."""
    top = np.argsort(-score, axis=1, kind="stable")[:, :TOP]
    valid = np.take_along_axis(np.isfinite(score), top, 1)
    hits = np.take_along_axis(same, top, 1) & valid
    return np.asarray(hits.sum(1) / np.maximum(valid.sum(1), 1), np.float32)


def _standardize(x: Matrix, mask: Mask) -> tuple[Matrix, NDArray[np.float32], NDArray[np.float32]]:
    """``x`` as z-scores over each row's ``mask`` cells, plus each row's mean and spread there."""
    n = np.maximum(mask.sum(1, keepdims=True), 1)
    filled = np.where(mask, x, 0.0)
    mean = filled.sum(1, keepdims=True) / n
    sd = np.sqrt((np.where(mask, x - mean, 0.0) ** 2).sum(1, keepdims=True) / n)
    sd = np.where(sd > 0, sd, 1.0)
    return np.asarray((x - mean) / sd, np.float32), mean.astype(np.float32), sd.astype(np.float32)


def dense_scores(f: Features, mix: EnsembleMix, use_weight: float) -> Matrix:
    """The dense score of every candidate under one English mixing rule (other queries: USE alone).

    - ``weighted``: ``(u · cos_use + s · cos_st) / (u + s)``, ``s`` = share of query-language
      articles in USE's top 10 (the rule shipped before the held-out protocol).
    - ``standardized``: the same weights on each model's z-scores over the English
      candidates, the mix mapped onto USE's mean and spread there, so neither model's
      spread decides (and English scores stay comparable with other passages' USE scores).
    - ``confidence``: standardized, each model weighted by its own top z-score (how far its
      best candidate stands out); no constant.
    """
    has = np.isfinite(f.st) & np.isfinite(f.use)
    english = f.english[:, None] & has
    share = _top_share(f.use, f.same_lang)[:, None]
    if mix == "weighted":
        s = share
        use = np.where(has, f.use, 0.0)
        mixed = (use_weight * use + s * np.nan_to_num(f.st)) / np.maximum(use_weight + s, 1e-9)
    else:
        zu, mean, sd = _standardize(np.where(has, f.use, 0.0).astype(np.float32), has)
        zs, _, _ = _standardize(np.nan_to_num(f.st).astype(np.float32), has)
        if mix == "confidence":
            u = np.maximum(np.where(has, zu, -np.inf).max(1, keepdims=True), 0.0)
            s = share * np.maximum(np.where(has, zs, -np.inf).max(1, keepdims=True), 0.0)
        else:
            u, s = np.float32(use_weight), share
        # Standardized again: a mean of z-scores spreads less than either, and the
        # gap-scaled BM25 weight reads the spread.
        z, _, _ = _standardize(np.asarray((u * zu + s * zs) / np.maximum(u + s, 1e-9), np.float32), has)
        mixed = mean + sd * z
    return np.asarray(np.where(english, mixed, f.use), np.float32)


def hybrid_scores(f: Features, dense: Matrix, weight: float, weight_en: float, cap: float) -> Matrix:
    """``dense + c · bm25 / max(bm25)``, ``c`` by the dense gap and the language gate (:mod:`indexer.fusion`)."""
    order = np.argsort(-dense, axis=1, kind="stable")[:, :TOP]
    top = np.take_along_axis(dense, order, 1)
    finite = np.isfinite(top)
    last = np.where(finite, top, np.inf).min(1)
    gap = np.where(finite.any(1), top[:, 0] - last, 0.0)
    base = np.where(f.english, weight_en, weight)
    c = np.minimum(base / np.maximum(gap, MIN_GAP), cap)
    share = _top_share(dense, f.same_lang)
    c = c * (share >= SAME_LANGUAGE_SHARE)
    top_bm25 = f.bm25.max(1)
    norm = np.where(top_bm25 > 0, top_bm25, 1.0)
    return np.asarray(dense + (c / norm)[:, None] * f.bm25, np.float32)


def measures(f: Features, score: Matrix) -> tuple[float, float]:
    """Mean Recall@5 and MRR@10 of ranking every query's candidates by ``score`` (stable on ties)."""
    if not len(score):
        return 0.0, 0.0
    score = np.where(f.valid, score, -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :10]
    hit = np.take_along_axis(f.relevant, order, 1) & np.take_along_axis(f.valid, order, 1)
    recall5 = hit[:, :5].sum(1) / np.maximum(f.n_relevant, 1)
    first = np.where(hit.any(1), hit.argmax(1) + 1, np.inf)
    return float(recall5.mean()), float((1.0 / first).mean())


def grid() -> list[Setting]:
    """Every setting :func:`leave_one_out` chooses from."""
    lexical = list(itertools.product(LEXICAL_WEIGHTS, LEXICAL_WEIGHTS_EN, LEXICAL_CAPS))
    # The confidence mix has no USE weight: one entry.
    confidence: list[tuple[EnsembleMix, float]] = [("confidence", 0.0)]
    mixes = [(m, w) for m in MIXES if m != "confidence" for w in USE_WEIGHTS] + confidence
    return [Setting(m, w, *lex) for (m, w), lex in itertools.product(mixes, lexical)]


def score_grid(
    sets: Mapping[str, Features], settings: Sequence[Setting]
) -> dict[Setting, dict[str, tuple[float, float]]]:
    """R@5 and MRR@10 of each setting on each set (dense scores computed once per mix)."""
    out: Scores = {s: {} for s in settings}
    for name, f in sets.items():
        dense_cache: dict[tuple[EnsembleMix, float], Matrix] = {}
        for s in settings:
            key = (s.mix, s.use_weight)
            if key not in dense_cache:
                dense_cache[key] = dense_scores(f, s.mix, s.use_weight)
            hybrid = hybrid_scores(f, dense_cache[key], s.lexical_weight, s.lexical_weight_en, s.lexical_cap)
            out[s][name] = measures(f, hybrid)
    return out


def objective(cells: Iterable[tuple[float, float]]) -> float:
    """Mean over sets of (R@5 + MRR@10) / 2: each set weighs the same, whatever its size."""
    values = [(r + m) / 2 for r, m in cells]
    return sum(values) / len(values) if values else 0.0


def best_setting(scores: Mapping[Setting, Mapping[str, tuple[float, float]]], fit_on: Iterable[str]) -> Setting:
    """The setting with the best :func:`objective` on the sets ``fit_on`` (first in grid order on ties)."""
    names = list(fit_on)
    return max(scores, key=lambda s: objective(scores[s][n] for n in names))


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One set's row of the held-out table."""

    name: str
    in_sample: Setting
    in_sample_score: tuple[float, float]
    held_out: Setting
    held_out_score: tuple[float, float]


def leave_one_out(scores: Mapping[Setting, Mapping[str, tuple[float, float]]], names: Sequence[str]) -> list[HeldOut]:
    """For each set: the setting fitted on all sets and the one fitted on the others, each scored on it."""
    everything = best_setting(scores, names)
    rows = []
    for name in names:
        chosen = best_setting(scores, [n for n in names if n != name])
        rows.append(HeldOut(name, everything, scores[everything][name], chosen, scores[chosen][name]))
    return rows


def parts(f: Features, weight: float, weight_en: float, cap: float) -> dict[str, tuple[float, float]]:
    """Each signal alone, in dense and in hybrid mode (BM25 added by the given rule), and BM25 alone."""
    cells = {"bm25": measures(f, np.where(f.bm25 > 0, f.bm25, -np.inf).astype(np.float32))}
    signals = {"use": f.use}
    if np.isfinite(f.st[f.english]).any():
        signals["st"] = np.where(np.isfinite(f.st), f.st, -np.inf).astype(np.float32)
    for name, dense in signals.items():
        cells[f"{name} dense"] = measures(f, dense)
        cells[f"{name} hybrid"] = measures(f, hybrid_scores(f, dense, weight, weight_en, cap))
    return cells


def _cell(score: tuple[float, float]) -> str:
    return f"{score[0]:.3f} / {score[1]:.3f}"


def markdown(
    rows: Sequence[HeldOut],
    shipped: Setting,
    scores: Mapping[Setting, Mapping[str, tuple[float, float]]],
    components: Mapping[str, Mapping[str, tuple[float, float]]],
) -> str:
    """The held-out table: per set the shipped default, in-sample and held-out fits, and the best lone part."""
    lines = [
        "| set | shipped default | in-sample fit | held-out fit (fitted on the other five) | best part alone |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        part, best = max(components[row.name].items(), key=lambda kv: sum(kv[1]))
        lines.append(
            f"| {row.name} | {_cell(scores[shipped][row.name])} | {_cell(row.in_sample_score)} | "
            f"{_cell(row.held_out_score)} ({row.held_out.label()}) | {_cell(best)} ({part}) |"
        )
    lines.append(f"\nIn-sample fit (all six sets): {rows[0].in_sample.label() if rows else '-'}.")
    return "\n".join(lines)


def query_digest(queries: Sequence[Query]) -> str:
    """Hash of the queries and labels a set's features are collected for."""
    h = hashlib.sha256()
    for q in queries:
        h.update(f"{q.query_id}\0{q.text}\0{','.join(q.relevant_ids)}\n".encode())
    return h.hexdigest()


def shipped_setting(settings: Settings) -> Setting:
    """The setting the configured defaults correspond to."""
    return Setting(
        settings.ensemble_mix,
        settings.use_weight,
        settings.lexical_weight,
        settings.lexical_weight_en,
        settings.lexical_cap,
    )
