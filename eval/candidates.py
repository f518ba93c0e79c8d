"""The candidate articles of a set's queries with every signal hybrid search combines.

``kbassist eval holdout`` searches each public set once (:func:`collect`) and caches
these matrices, so every fusion rule and setting can then be scored on them in numpy
(:mod:`eval.holdout`) without searching again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from eval.data import Query
from indexer.calibration import calibrated_use_weight
from indexer.search import Retriever

Matrix = NDArray[np.float32]
Mask = NDArray[np.bool_]


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
        title: title and tag coverage (:mod:`indexer.titles`), 0 on padding; not cached
            (:func:`with_build` computes it from the set's build).
        calibrated: the build's own USE weight for English queries (:mod:`indexer.calibration`;
            None: too few English titles); not cached either.
        titles: per article of ``article_ids``, its title and tags (:func:`eval.rerank_data.with_titles`).
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
    title: Matrix | None = None
    calibrated: float | None = None
    titles: NDArray[np.str_] | None = None

    @property
    def valid(self) -> Mask:
        """Real (non-padding) cells."""
        return np.isfinite(self.use)

    def save(self, path: Path) -> None:
        """Write the matrices to ``path`` (``.npz``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **{name: getattr(self, name) for name in CACHED})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Features:
        """Read matrices written by :meth:`save`."""
        with np.load(path) as data:
            return cls(**{name: data[name] for name in CACHED})


def collect(retriever: Retriever, queries: Sequence[Query], answerable_only: bool = True) -> Features:
    """Search each answerable query (or, with ``answerable_only`` off, every query) once and keep its
    candidates' signals and labels; a no-answer query has no relevant cell and ``n_relevant`` 0."""
    rows = []
    for q in queries:
        if q.answerable or not answerable_only:
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


def query_digest(queries: Sequence[Query]) -> str:
    """Hash of the queries and labels a set's features are collected for."""
    h = hashlib.sha256()
    for q in queries:
        h.update(f"{q.query_id}\0{q.text}\0{','.join(q.relevant_ids)}\n".encode())
    return h.hexdigest()


# The fields written to the cache file (the title coverage is recomputed from the build).
CACHED = tuple(f.name for f in dataclasses.fields(Features) if f.name not in ("title", "calibrated", "titles"))


def with_build(f: Features, retriever: Retriever) -> Features:
    """``f`` with what the set's build adds: title and tag coverage, scored as search scores it, and the
    build's calibrated USE weight."""
    index = {a: i for i, a in enumerate(retriever.articles)}
    arts = np.array([index[str(a)] for a in f.article_ids], np.int64)
    title = np.zeros(f.use.shape, np.float32)
    for i, text in enumerate(f.text):
        valid = f.article[i] >= 0
        terms = retriever.analyzer.tokens(str(text))
        title[i, valid] = retriever.titles.coverage(terms, arts[f.article[i][valid]])
    ids = retriever.articles
    metas = [ids[a] for a in ids]
    calibrated = calibrated_use_weight(retriever.embedder, metas, retriever.chunk_articles, retriever.vectors)
    return dataclasses.replace(f, title=title, calibrated=calibrated)
