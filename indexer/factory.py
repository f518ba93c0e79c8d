"""Factories that turn ``Settings`` into the retrieval parts: embedder, fusion parameters, retriever.

The CLI, the service and evaluation all build these the same way; this module is the one place that
knows how, so that none of them imports another's entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from indexer.config import Settings
from indexer.embed import Embedder, create_embedder
from indexer.fusion import FusionParams
from indexer.search import Retriever
from indexer.versions import current_build

if TYPE_CHECKING:
    import click


def settings_from(ctx: click.Context) -> Settings:
    """The Settings object the root command group put on a click context (created if absent)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def make_embedder(settings: Settings, threads: int | None = None) -> Embedder:
    """The embedder configured by ``settings``."""
    return create_embedder(
        settings.embedding_backend,
        settings.embedding_model,
        threads=threads or settings.embed_threads,
        allow_download=settings.allow_model_download,
        st_runtime=settings.st_runtime,
        cache_dir=settings.model_cache_dir,
        use_weight=settings.use_weight,
        st_weight=settings.st_weight,
        mix=settings.ensemble_mix,
    )


def fusion_from(settings: Settings) -> FusionParams:
    """Fusion parameters configured by ``settings``."""
    return FusionParams(
        lexical_weight=settings.lexical_weight,
        lexical_weight_en=settings.lexical_weight_en,
        lexical_cap=settings.lexical_cap,
        article_score=settings.article_score,
        title_weight=settings.title_weight,
        use_weight_rule=settings.use_weight_rule,
        calibrated_use_scale=settings.calibrated_use_scale,
        crosslingual_rescore=settings.crosslingual_rescore,
        twin_lexical=settings.twin_lexical,
        candidates=settings.candidates,
        normalize_queries=settings.normalize_queries,
        answerable_threshold=settings.answerable_threshold,
    )


def load_retriever(settings: Settings, index_dir: Path | None = None) -> Retriever:
    """Load the current build under ``index_dir`` (default: the configured one)."""
    folder = current_build(index_dir or settings.index_root)
    return Retriever.load(folder, make_embedder(settings), fusion=fusion_from(settings))
