"""Leave-one-dataset-out tuning of hybrid fusion: fit on five public sets, score the sixth.

Searching a set again for every candidate setting would take hours, so each set is
searched once (:func:`eval.candidates.collect`): for every query, the hybrid candidates
with the signals fusion combines (USE cosine, English-model cosine, their mean over the
article's chunks, BM25, title coverage, language match) and their labels, cached as one
``.npz`` per set. Every fusion rule and setting is then
scored on those matrices in numpy (:func:`score_grid`), and :func:`leave_one_out` picks,
for each set, the setting that does best on the other sets (mean of R@5 and MRR@10,
each set weighing the same) and reports how it does on the set left out.

Offline scores mix each article's best chunk per signal (and the chunks' mean), where
search mixes chunk by chunk; on the FAQ-style public sets (one or few chunks per article)
the two agree to within the noise, and the tables in eval/RESULTS.md quote
``kbassist eval run`` for the shipped default.
"""

from __future__ import annotations

import itertools
import logging
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eval.candidates import Features, Mask, Matrix, cache_path, collect, query_digest, with_build
from indexer.config import ArticleScore, EnsembleMix, Settings, UseWeightRule
from indexer.fusion import MIN_GAP, SAME_LANGUAGE_SHARE, TOP

log = logging.getLogger(__name__)

__all__ = ["Features", "cache_path", "collect", "query_digest", "with_build"]

# Per setting, per set: (Recall@5, MRR@10).
Scores = dict["Setting", dict[str, tuple[float, float]]]

# How English dense scores are mixed (see :func:`dense_scores`).
MIXES: tuple[EnsembleMix, ...] = typing.get_args(EnsembleMix)
USE_WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
LEXICAL_WEIGHTS = (0.02, 0.03, 0.05, 0.08)
LEXICAL_WEIGHTS_EN = (0.01, 0.02, 0.03)
LEXICAL_CAPS = (1.0, 2.0)
ARTICLE_SCORES: tuple[ArticleScore, ...] = typing.get_args(ArticleScore)
TITLE_WEIGHTS = (0.0, 0.1, 0.2)
# Factors on each set's calibrated USE weight (indexer/calibration.py), weighted mix only.
CALIBRATED_SCALES = (0.25, 0.5, 1.0)
# What the service uses when a build cannot be calibrated (too few English titles).
FALLBACK_USE_WEIGHT: float = Settings.model_fields["use_weight"].default


@dataclass(frozen=True, slots=True)
class Setting:
    """One point of the grid: how English dense scores mix, the BM25 weight rule's constants,
    how chunk scores make an article's, and the weight of title coverage."""

    mix: EnsembleMix
    use_weight: float
    lexical_weight: float
    lexical_weight_en: float
    lexical_cap: float
    article_score: ArticleScore = "best"
    title_weight: float = 0.0
    use_rule: UseWeightRule = "fixed"

    def effective_use_weight(self, f: Features) -> float:
        """The USE weight on set ``f``: ``use_weight`` itself, or (calibrated) a factor on the set's own weight."""
        if self.use_rule == "fixed":
            return self.use_weight
        return self.use_weight * (f.calibrated if f.calibrated is not None else FALLBACK_USE_WEIGHT)

    def label(self) -> str:
        """Short text for tables."""
        mix = self.mix if self.mix == "confidence" else f"{self.mix} {self.use_weight:g}"
        if self.use_rule == "calibrated":
            mix = f"{self.mix} calibrated × {self.use_weight:g}"
        lexical = f"w {self.lexical_weight:g} / en {self.lexical_weight_en:g}, cap {self.lexical_cap:g}"
        return f"{mix}; {lexical}; {self.article_score}; title {self.title_weight:g}"


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


def dense_scores(f: Features, mix: EnsembleMix, use_weight: float, article: ArticleScore = "best") -> Matrix:
    """The dense score of every candidate under one English mixing rule (other queries: USE alone).

    - ``weighted``: ``(u · cos_use + s · cos_st) / (u + s)``, ``s`` = share of query-language
      articles in USE's top 10 (the rule shipped before the held-out protocol).
    - ``standardized``: the same weights on each model's z-scores over the English
      candidates, the mix mapped onto USE's mean and spread there, so neither model's
      spread decides (and English scores stay comparable with other passages' USE scores).
    - ``confidence``: standardized, each model weighted by its own top z-score (how far its
      best candidate stands out); no constant.

    ``article``: ``best`` scores an article by its best chunk, ``blend`` by the mean of that
    and of its chunks' mean (:func:`indexer.fusion.article_dense`).
    """
    share = _top_share(f.use, f.same_lang)[:, None]
    best = _mixed(f, f.use, f.st, share, mix, use_weight)
    if article == "best":
        return best
    return np.asarray((best + _mixed(f, f.use_mean, f.st_mean, share, mix, use_weight)) / 2, np.float32)


def _mixed(f: Features, use: Matrix, st: Matrix, share: Matrix, mix: EnsembleMix, use_weight: float) -> Matrix:
    """:func:`dense_scores` of one pair of cosine matrices (best chunk, or chunks' mean)."""
    has = np.isfinite(st) & np.isfinite(use)
    english = f.english[:, None] & has
    if mix == "weighted":
        s = share
        mixed = (use_weight * np.where(has, use, 0.0) + s * np.nan_to_num(st)) / np.maximum(use_weight + s, 1e-9)
    else:
        zu, mean, sd = _standardize(np.where(has, use, 0.0).astype(np.float32), has)
        zs, _, _ = _standardize(np.nan_to_num(st).astype(np.float32), has)
        if mix == "confidence":
            u = np.maximum(np.where(has, zu, -np.inf).max(1, keepdims=True), 0.0)
            s = share * np.maximum(np.where(has, zs, -np.inf).max(1, keepdims=True), 0.0)
        else:
            u, s = np.float32(use_weight), share
        # Standardized again: a mean of z-scores spreads less than either, and the
        # gap-scaled BM25 weight reads the spread.
        z, _, _ = _standardize(np.asarray((u * zu + s * zs) / np.maximum(u + s, 1e-9), np.float32), has)
        mixed = mean + sd * z
    return np.asarray(np.where(english, mixed, use), np.float32)


@dataclass(frozen=True, slots=True)
class DenseTop:
    """What the BM25 weight rule reads off a dense ranking: per query, the gap and the language gate."""

    gap: NDArray[np.float32]
    gate: NDArray[np.float32]

    @classmethod
    def of(cls, f: Features, dense: Matrix) -> DenseTop:
        """Best minus 10th-best dense score, and 1.0 where the top 10 is (nearly) all in the query's language."""
        order = np.argsort(-dense, axis=1, kind="stable")[:, :TOP]
        top = np.take_along_axis(dense, order, 1)
        finite = np.isfinite(top)
        last = np.where(finite, top, np.inf).min(1)
        gap = np.where(finite.any(1), top[:, 0] - last, 0.0)
        gate = (_top_share(dense, f.same_lang) >= SAME_LANGUAGE_SHARE).astype(np.float32)
        return cls(gap.astype(np.float32), gate)


def hybrid_scores(
    f: Features,
    dense: Matrix,
    weight: float,
    weight_en: float,
    cap: float,
    title_weight: float = 0.0,
    top: DenseTop | None = None,
) -> Matrix:
    """``dense + c · bm25 / max(bm25) + gate · title_weight · title`` (:mod:`indexer.fusion`, :mod:`indexer.titles`).

    ``c`` comes from the dense gap and the language gate; ``top`` is :meth:`DenseTop.of`
    ``dense`` when the caller has it already.
    """
    top = top or DenseTop.of(f, dense)
    base = np.where(f.english, weight_en, weight)
    c = np.minimum(base / np.maximum(top.gap, MIN_GAP), cap) * top.gate
    top_bm25 = f.bm25.max(1)
    norm = np.where(top_bm25 > 0, top_bm25, 1.0)
    score = dense + (c / norm)[:, None] * f.bm25
    if title_weight and f.title is not None:
        score = score + (top.gate * title_weight)[:, None] * f.title
    return np.asarray(score, np.float32)


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
    mixes: list[tuple[EnsembleMix, float, UseWeightRule]] = [
        (m, w, "fixed") for m in MIXES if m != "confidence" for w in USE_WEIGHTS
    ]
    confidence: tuple[EnsembleMix, float, UseWeightRule] = ("confidence", 0.0, "fixed")
    calibrated: list[tuple[EnsembleMix, float, UseWeightRule]] = [
        ("weighted", scale, "calibrated") for scale in CALIBRATED_SCALES
    ]
    mixes += [confidence, *calibrated]
    rest = list(itertools.product(lexical, ARTICLE_SCORES, TITLE_WEIGHTS))
    return [
        Setting(m, w, *lex, article, title, rule)
        for (m, w, rule), (lex, article, title) in itertools.product(mixes, rest)
    ]


def score_grid(
    sets: Mapping[str, Features], settings: Sequence[Setting]
) -> dict[Setting, dict[str, tuple[float, float]]]:
    """R@5 and MRR@10 of each setting on each set (dense scores computed once per mix and article rule)."""
    out: Scores = {s: {} for s in settings}
    for name, f in sets.items():
        dense_cache: dict[tuple[EnsembleMix, float, ArticleScore], tuple[Matrix, DenseTop]] = {}
        for s in settings:
            key = (s.mix, s.effective_use_weight(f), s.article_score)
            if key not in dense_cache:
                dense = dense_scores(f, *key)
                dense_cache[key] = dense, DenseTop.of(f, dense)
            dense, top = dense_cache[key]
            lexical = (s.lexical_weight, s.lexical_weight_en, s.lexical_cap)
            out[s][name] = measures(f, hybrid_scores(f, dense, *lexical, s.title_weight, top))
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


def parts(f: Features, shipped: Setting) -> dict[str, tuple[float, float]]:
    """Each signal alone, in dense and in hybrid mode (BM25 and titles added as ``shipped`` adds them), and BM25 alone.

    Chunk scores make an article's as in ``shipped`` (a single backend runs with the same rule).
    """
    cells = {"bm25": measures(f, np.where(f.bm25 > 0, f.bm25, -np.inf).astype(np.float32))}
    blend = shipped.article_score == "blend"
    signals: dict[str, Matrix] = {"use": np.asarray((f.use + f.use_mean) / 2, np.float32) if blend else f.use}
    if np.isfinite(f.st[f.english]).any():
        st = (f.st + f.st_mean) / 2 if blend else f.st
        signals["st"] = np.where(np.isfinite(st), st, -np.inf).astype(np.float32)
    lexical = (shipped.lexical_weight, shipped.lexical_weight_en, shipped.lexical_cap, shipped.title_weight)
    for name, dense in signals.items():
        cells[f"{name} dense"] = measures(f, dense)
        cells[f"{name} hybrid"] = measures(f, hybrid_scores(f, dense, *lexical))
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


def shipped_setting(settings: Settings) -> Setting:
    """The setting the configured defaults correspond to."""
    calibrated = settings.use_weight_rule == "calibrated"
    return Setting(
        settings.ensemble_mix,
        settings.calibrated_use_scale if calibrated else settings.use_weight,
        settings.lexical_weight,
        settings.lexical_weight_en,
        settings.lexical_cap,
        settings.article_score,
        settings.title_weight,
        settings.use_weight_rule,
    )
