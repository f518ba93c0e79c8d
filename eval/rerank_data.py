"""The public sets' cached candidate signals, loaded once for ``eval holdout`` and ``eval rerank``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from eval.candidates import Features, cache_path, collect, query_digest, with_build
from eval.datasets import golden_dataset, load_dataset, sample
from eval.run import CACHE, cache_key, cached_retriever
from indexer.config import Settings
from indexer.embed import embedder_id
from indexer.factory import make_embedder
from indexer.search import Retriever
from indexer.titles import title_text


def _digest(settings: Settings, source: Path, queries_digest: str) -> str:
    embedder = make_embedder(settings, None)
    return "\0".join(
        [cache_key(source, embedder_id(embedder), settings.chunk_size), queries_digest]
        # What decides the candidates and their raw signals; fusion's weights do not.
        + [f"{settings.candidates},{settings.normalize_queries}", f"{settings.use_weight},{settings.st_weight}"]
    )


def public_sets(settings: Settings, datasets: Path, limit: int, seed: int, folder: Path) -> dict[str, Features]:
    """Each public set's answerable queries (a seeded sample) with their candidates' signals, searched on a
    cache miss and cached under ``folder``, plus what the set's build adds (:func:`eval.candidates.with_build`)."""
    sets: dict[str, Features] = {}
    for path in sorted(p.parent for p in datasets.glob("*/articles.jsonl")):
        ds = load_dataset(path, settings.data_dir / CACHE)
        queries = sample(ds.queries, limit, seed)
        target = cache_path(folder, ds.name, _digest(settings, ds.articles, query_digest(queries)))
        retriever = cached_retriever(ds.articles, settings, make_embedder)
        if target.is_file():
            features = Features.load(target)
        else:
            features = collect(retriever, queries)
            features.save(target)
        sets[ds.name] = with_titles(with_build(features, retriever), retriever)
    return sets


def out_of_scope(settings: Settings, datasets: Path, folder: Path) -> Features | None:
    """clinc150's out-of-scope queries against its KB (None: the set has none), cached like the public sets."""
    path = datasets / "clinc150"
    if not (path / "articles.jsonl").is_file():
        return None
    ds = load_dataset(path, settings.data_dir / CACHE)
    queries = [q for q in ds.queries if not q.answerable]
    if not queries:
        return None
    target = cache_path(folder, "clinc150-oos", _digest(settings, ds.articles, query_digest(queries)))
    retriever = cached_retriever(ds.articles, settings, make_embedder)
    return _cached_all(target, retriever, queries)


def golden(settings: Settings, folder: Path) -> Features:
    """Every golden query (no-answer ones too, ``n_relevant`` 0) against the bundled KB."""
    ds = golden_dataset(settings.content_dir)
    target = cache_path(folder, "golden", _digest(settings, ds.articles, query_digest(ds.queries)))
    return _cached_all(target, cached_retriever(ds.articles, settings, make_embedder), ds.queries)


def _cached_all(target: Path, retriever: Retriever, queries: list) -> Features:  # type: ignore[type-arg]
    if target.is_file():
        features = Features.load(target)
    else:
        features = collect(retriever, queries, answerable_only=False)
        features.save(target)
    return with_titles(with_build(features, retriever), retriever)


def with_titles(f: Features, retriever: Retriever) -> Features:
    """``f`` with each referenced article's title and tags (:func:`indexer.titles.title_text`)."""
    texts = [title_text(retriever.articles[str(a)]) for a in f.article_ids]
    return dataclasses.replace(f, titles=np.array(texts, dtype=np.str_))
