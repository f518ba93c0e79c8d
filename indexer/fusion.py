"""How hybrid search combines the dense and BM25 scores of the candidate articles (pure functions).

``score = dense + c · bm25 / max(bm25)`` with a per-query lexical weight
``c = min(w / max(gap, 0.001), cap)`` (:func:`gap_weight`), where ``gap`` is the dense
score of the best article minus that of the 10th and ``w`` depends on the query's
language. A confident dense ranking (large gap: paraphrase-style FAQs) leaves BM25 as a
tie-breaker; a flat one (long answer articles, where one vector per passage dilutes the
meaning) hands the decision to BM25. Fixed weights cannot serve both kinds of public set
and plain RRF never beat its best component (``kbassist eval --dataset DIR``, eval/RESULTS.md).

BM25 only matches articles written in the query's language, so it takes part only when
the dense top 10 is (nearly) all in that language (:func:`language_gate`); otherwise it
would push same-language articles over an answer in the other language (golden set,
crosslingual queries: ``kbassist eval breakdown``).

When the candidates mix languages, BM25 still only reaches the query's language: added on
top of the dense score it would lift that whole group over the other language's candidates,
which it cannot judge. So the query language's fused scores are mapped back onto the range
of their own dense scores (:func:`keep_language_level`; best onto best, worst onto worst):
BM25 reorders them among themselves, and the dense scores alone set where they stand against
the other language. (A map onto their mean and spread instead let a BM25-led first article
land above the best dense score of its language when BM25 dominated a flat ranking, eval/RESULTS.md.)

An article's dense score is by default the mean of its best chunk's score and the mean
score of all its chunks (:func:`article_dense`): a broad article (a guide touching many
topics, an agent script) otherwise wins on one section that shares words with the query,
over the focused article the whole of which is about it. One-chunk articles score as
before, so FAQ-style KBs are unchanged by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.config import ArticleScore, Settings, UseWeightRule

# Articles whose dense scores define the gap and the language share.
TOP = 10
# Share of the dense top articles that must be in the query's language for BM25 to take part.
SAME_LANGUAGE_SHARE = 0.9
# Smallest gap the weight divides by: a perfectly flat ranking gets the cap, not a division by zero.
MIN_GAP = 1e-3
# Fewest candidate articles whose scores define a mean and a spread to map from (:func:`onto_scale`).
MIN_FIT = 3


def _default(name: str) -> Any:
    """The default of setting ``name``: the settings table is the one home of every default."""
    return Settings.model_fields[name].default


@dataclass(frozen=True, slots=True)
class FusionParams:
    """The tunables of hybrid search (settings ``KB_LEXICAL_WEIGHT`` … ``KB_ANSWERABLE_THRESHOLD``).

    Attributes:
        lexical_weight: ``w`` of Chinese (and every non-English) query.
        lexical_weight_en: ``w`` of English queries.
        lexical_cap: upper bound of the per-query weight ``c``.
        article_score: how an article's dense score is made from its chunks' (:func:`article_dense`).
        title_weight: weight of the title and tag coverage (:mod:`indexer.titles`) in hybrid mode.
        use_weight_rule: ensemble builds: ``calibrated`` uses the build's own USE weight
            (:mod:`indexer.calibration`) times ``calibrated_use_scale``; ``fixed`` the embedder's.
        calibrated_use_scale: factor on the calibrated weight.
        crosslingual_rescore: bilingual builds: other-language candidates reordered by their card
            (:mod:`indexer.crosslingual`), and BM25 kept from lifting the query's language as a whole
            (:func:`keep_language_level`).
        twin_lexical: bilingual builds, hybrid mode: an other-language candidate with a counterpart
            in the query's language takes its BM25 score (:meth:`indexer.crosslingual.LanguageBridge.twin_lexical`).
        candidates: chunks taken from each ranker before fusion.
        normalize_queries: rewrite pinyin, homophones and misspellings into KB words first.
        answerable_threshold: answer probability below which a result is flagged unanswerable
            (None: the calibrated threshold).
    """

    lexical_weight: float = _default("lexical_weight")
    lexical_weight_en: float = _default("lexical_weight_en")
    lexical_cap: float = _default("lexical_cap")
    article_score: ArticleScore = _default("article_score")
    title_weight: float = _default("title_weight")
    use_weight_rule: UseWeightRule = _default("use_weight_rule")
    calibrated_use_scale: float = _default("calibrated_use_scale")
    crosslingual_rescore: bool = _default("crosslingual_rescore")
    twin_lexical: bool = _default("twin_lexical")
    candidates: int = _default("candidates")
    normalize_queries: bool = _default("normalize_queries")
    answerable_threshold: float | None = _default("answerable_threshold")


def article_dense(best: NDArray[np.float32], mean: NDArray[np.float32], rule: ArticleScore) -> NDArray[np.float32]:
    """Per article, the dense score ranking it: its best chunk's (``best``) or ``(best + mean) / 2`` (``blend``)."""
    return best if rule == "best" else np.asarray((best + mean) / 2, np.float32)


def top_articles(dense: NDArray[np.float32]) -> NDArray[np.int64]:
    """Positions of the :data:`TOP` best dense scores, best first (ties keep their order)."""
    return np.argsort(-dense, kind="stable")[:TOP]


def gap_weight(dense: NDArray[np.float32], base: float, cap: float, top: NDArray[np.int64] | None = None) -> float:
    """``min(base / max(gap, MIN_GAP), cap)``, with ``gap`` = best minus 10th-best dense score (0 if none).

    ``top`` is ``top_articles(dense)`` when the caller has it already.
    """
    top = top_articles(dense) if top is None else top
    gap = float(dense[top[0]] - dense[top[-1]]) if len(top) else 0.0
    return min(base / max(gap, MIN_GAP), cap)


def language_gate(same_lang: NDArray[np.bool_]) -> float:
    """1.0 when at least :data:`SAME_LANGUAGE_SHARE` of ``same_lang`` is true, else 0.0 (1.0 when empty)."""
    if not len(same_lang):
        return 1.0
    return float(np.count_nonzero(same_lang) / len(same_lang) >= SAME_LANGUAGE_SHARE)


def lexical_weight(dense: NDArray[np.float32], same_lang: NDArray[np.bool_], lang: str, params: FusionParams) -> float:
    """The BM25 weight ``c`` of one query.

    Args:
        dense: dense score of every candidate article.
        same_lang: whether BM25 can score each candidate article: written in the query's
            language (or taking a counterpart's score in it: :mod:`indexer.crosslingual`).
        lang: the query's language.
        params: the fusion tunables.
    """
    base = params.lexical_weight_en if lang == "en" else params.lexical_weight
    top = top_articles(dense)
    return gap_weight(dense, base, params.lexical_cap, top) * language_gate(same_lang[top])


def fuse(
    dense: NDArray[np.float32], lexical: NDArray[np.float32], weight: float, top_lexical: float
) -> NDArray[np.float32]:
    """``dense + weight · lexical / top_lexical`` (BM25 scaled to [0, 1] by the best article's score)."""
    norm = top_lexical if top_lexical > 0 else 1.0
    return dense + weight * lexical / norm


def _moments(x: NDArray[np.float32]) -> tuple[float, float]:
    """Mean and standard deviation of ``x`` (non-empty).

    By a sum and a dot product: ``ndarray.mean`` and ``.std`` cost several times more on the
    few hundred scores of one query, and this runs on every bilingual query.
    """
    mean = float(x.sum()) / len(x)
    centred = x - np.float32(mean)
    return mean, (float(centred @ centred) / len(x)) ** 0.5


def onto_scale(scores: NDArray[np.float32], reference: NDArray[np.float32]) -> Callable[[Any], NDArray[np.float32]]:
    """The increasing linear map taking ``scores``' mean and spread to ``reference``'s (a shift when flat)."""
    mean, spread = _moments(scores)
    target, reference_spread = _moments(reference)
    scale = reference_spread / spread if spread > 0 else 1.0
    return lambda x: np.asarray(target + scale * (x - mean), dtype=np.float32)


def onto_range(scores: NDArray[np.float32], reference: NDArray[np.float32]) -> NDArray[np.float32]:
    """``scores`` under the increasing linear map taking their best and worst to ``reference``'s (a shift when flat)."""
    top, span = float(scores.max()), float(scores.max() - scores.min())
    reference_top, reference_span = float(reference.max()), float(reference.max() - reference.min())
    scale = reference_span / span if span > 0 else 1.0
    return np.asarray(reference_top + scale * (scores - top), dtype=np.float32)


def keep_language_level(
    fused: NDArray[np.float32], dense: NDArray[np.float32], scorable: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """Per article, ``fused``, with the articles BM25 can score mapped onto the range of their ``dense`` scores.

    ``scorable`` marks the query language's articles (and, with twin lexical scores, the
    other language's articles that took their twin's BM25: :mod:`indexer.crosslingual`).
    Only when the candidates mix (at least :data:`MIN_FIT` scorable and one not); otherwise
    ``fused`` as it is. The map is increasing, so BM25's order among them stays, and their
    best stands where the best of their dense scores stood.
    """
    n_same = int(np.count_nonzero(scorable))
    if n_same == len(scorable) or n_same < MIN_FIT:
        return fused
    out = fused.copy()
    out[scorable] = onto_range(fused[scorable], dense[scorable])
    return out
