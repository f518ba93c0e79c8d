"""Whether the best article answers the query: signals of one search and a calibrated model over them.

A search yields :class:`Signals` (dense scores of the top articles, how much of the
query's IDF mass the top article contains or the KB does not know at all, the top BM25
score relative to the query's IDF sum) and :class:`AnswerModel` turns some of them into
the probability that the top article answers the query: a logistic regression (weights
per query language allowed), fitted per embedding backend by ``kbassist eval calibrate
[--backend NAME]`` on public data only (the golden set stays held out) and stored in
:data:`ANSWER_MODELS_FILE`, which ships with the package. eval/RESULTS.md reports the
fit and its precision/recall.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from indexer.config import Settings
from indexer.lexical import LexicalIndex

ANSWER_MODELS_FILE = Path(__file__).with_name("answer_models.json")
DEFAULT_BACKEND: str = Settings.model_fields["embedding_backend"].default
FEATURES = ("top_dense", "gap2", "gap10", "coverage", "unknown", "lexical", "log_terms")


@dataclass(frozen=True, slots=True)
class Signals:
    """What a search knows about its own success, as model features (see :data:`FEATURES`).

    Attributes:
        top_dense: dense score of the best article.
        gap2: best minus second-best article dense score.
        gap10: best minus tenth-best (or last) article dense score.
        coverage: share of the query's IDF mass whose terms occur in the top hit's article.
        unknown: share of the query's IDF mass whose terms occur nowhere in the KB.
        lexical: top BM25 score over the largest one the query's terms could reach (sum of IDFs).
        log_terms: ``ln(1 + number of query terms)``.
    """

    top_dense: float
    gap2: float
    gap10: float
    coverage: float
    unknown: float
    lexical: float
    log_terms: float

    def vector(self) -> tuple[float, ...]:
        """The features in :data:`FEATURES` order."""
        return (self.top_dense, self.gap2, self.gap10, self.coverage, self.unknown, self.lexical, self.log_terms)


def measure_signals(
    dense: NDArray[np.float32],
    top_chunks: NDArray[np.int64],
    terms: Sequence[str],
    lexical: LexicalIndex,
    top_lexical: float,
) -> Signals:
    """Signals of one search.

    Args:
        dense: dense score of every candidate article (any order).
        top_chunks: chunk ids of the top hit's article (empty when nothing was found).
        terms: the query's analyzer terms.
        lexical: the build's BM25 index.
        top_lexical: best BM25 score of any article.
    """
    best = np.sort(dense)[::-1][:10] if len(dense) else np.zeros(1, np.float32)
    top = float(best[0])
    ids, idf = lexical.term_idf(terms)
    total = float(idf.sum())
    # A binary search: np.isin costs far more on every query.
    have = np.sort(lexical.doc_terms(top_chunks)).astype(np.int64)
    at = np.minimum(np.searchsorted(have, ids), max(len(have) - 1, 0))
    covered = float(idf[have[at] == ids].sum()) if len(have) else 0.0
    unknown = float(idf[ids < 0].sum())
    share = (lambda x: x / total) if total > 0 else (lambda _: 0.0)
    return Signals(
        top_dense=top,
        gap2=top - float(best[1]) if len(best) > 1 else 0.0,
        gap10=top - float(best[-1]),
        coverage=share(covered),
        unknown=share(unknown),
        lexical=share(top_lexical),
        log_terms=math.log1p(len(terms)),
    )


@dataclass(frozen=True, slots=True)
class AnswerModel:
    """Logistic regression per query language: ``P(answerable) = σ(bias + Σ wᵢ·featureᵢ)``.

    Attributes:
        features: names of the :class:`Signals` fields used, in weight order.
        weights: per language, ``(bias, w_1, …, w_n)``; languages without weights use ``en``.
        threshold: the probability below which a query is flagged unanswerable.
    """

    features: tuple[str, ...]
    weights: Mapping[str, tuple[float, ...]]
    threshold: float

    def probability(self, signals: Signals, lang: str) -> float:
        """Probability that the top article answers the query."""
        w = self.weights.get(lang) or self.weights["en"]
        z = w[0] + sum(wi * getattr(signals, f) for wi, f in zip(w[1:], self.features, strict=True))
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


def load_answer_models(path: Path = ANSWER_MODELS_FILE) -> dict[str, AnswerModel]:
    """Every calibrated model in ``path`` (a JSON object: backend -> features, weights, threshold)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            backend: AnswerModel(
                tuple(entry["features"]),
                {lang: tuple(w) for lang, w in entry["weights"].items()},
                float(entry["threshold"]),
            )
            for backend, entry in data.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a file of answer models ({exc!r})") from exc


def save_answer_model(backend: str, model: AnswerModel, path: Path = ANSWER_MODELS_FILE) -> None:
    """Store ``model`` as the calibrated model of ``backend`` in ``path``, keeping the other backends'."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data[backend] = {
        "features": list(model.features),
        "weights": {k: list(w) for k, w in model.weights.items()},
        "threshold": model.threshold,
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _packaged_models.cache_clear()


@lru_cache(maxsize=1)
def _packaged_models() -> dict[str, AnswerModel]:
    return load_answer_models()


def answer_model(backend: str) -> AnswerModel:
    """The model calibrated for ``backend``; a backend without one uses the default backend's."""
    models = _packaged_models()
    return models.get(backend) or models[DEFAULT_BACKEND]
