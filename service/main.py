"""The FastAPI app factory. Nothing heavy happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from indexer.embed import Embedder
from indexer.factory import fusion_from, make_embedder
from indexer.search import Retriever
from service import admin, docs, health
from service.articles import routes as articles
from service.batcher import SearchBatcher
from service.config import ServiceSettings
from service.credits import routes as credits
from service.credits.bank import Bank
from service.credits.rules import load_rules
from service.dashboard import routes as dashboard
from service.dashboard.page import install_dashboard
from service.db import make_engine, upgrade
from service.errors import error_responses, install_handlers
from service.guard import RequestGuard
from service.headers import SecurityHeaders
from service.index import TRIGGER, IndexHolder
from service.keys.auth import KeyVerifier
from service.metrics import Metrics, MetricsMiddleware
from service.pii import PIIMasker
from service.ratelimit import KeyRateLimiter
from service.sidebar import install_sidebar
from service.suggestions import crud as suggestions_crud
from service.suggestions import routes as suggestions
from service.suggestions.models import SuggestionRow
from service.usage import gap_routes as usage_gaps
from service.usage import gaps
from service.usage import report_routes as usage_reports
from service.usage import routes as usage
from service.usage.ingest import record_build_articles
from service.usage.mapping import compile_mappings
from service.writer import RowWriter

log = logging.getLogger(__name__)


def create_app(settings: ServiceSettings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the service.

    Args:
        settings: defaults to ``ServiceSettings()`` from ``KB_`` environment variables.
        embedder: the query embedder; defaults to the configured backend (tests pass a fake).

    The lifespan loads the embedder and the current build once, starts the build
    watcher and the suggestion writer, and stops both (draining the writer) on shutdown.
    """
    settings = settings or ServiceSettings()
    masker = PIIMasker(settings.pii_patterns)  # fails fast on a bad KB_PII_PATTERNS
    outcome_mappings = compile_mappings(settings.outcome_mappings)  # and on a bad KB_OUTCOME_MAPPINGS
    metrics = Metrics()
    rules = load_rules(settings.credits_rules_file)  # a bad rules file stops start-up with file:line

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        if settings.db_upgrade_on_start:
            upgrade(engine)
        query_embedder = embedder or make_embedder(settings)
        gaps.load_clustering()
        bank = Bank(engine, settings, rules)

        def on_swap(retriever: Retriever) -> None:
            metrics.index_loaded(retriever)
            record_build_articles(engine, retriever)
            bank.on_build(retriever.articles, retriever.version)

        holder = IndexHolder(
            settings.index_root,
            query_embedder,
            fusion_from(settings),
            trigger=settings.data_dir / TRIGGER,
            on_swap=on_swap,
        )
        outcome, message = holder.check()
        if holder.retriever is None:
            log.error("starting without an index (%s): %s", outcome, message)
        holder.start(settings.reload_interval)
        writer: RowWriter[SuggestionRow] = RowWriter(engine, suggestions_crud.insert_suggestions, name="suggestion")
        bank.start(settings.credits_settle_seconds)
        app.state.engine = engine
        app.state.bank = bank
        app.state.holder = holder
        app.state.writer = writer
        app.state.batcher = SearchBatcher(
            query_embedder,
            on_batch=metrics.embed_batch.observe,
            cache_size=settings.query_cache_size,
            on_lookup=metrics.query_cache_looked_up,
            linger=settings.batch_linger_ms / 1000,
        )
        app.state.verifier = KeyVerifier(
            engine, cache_seconds=settings.key_cache_seconds, integration_internal=settings.integration_internal
        )
        try:
            yield
        finally:
            holder.stop()
            bank.stop()
            writer.close()
            engine.dispose()

    app = FastAPI(
        title="kbassist",
        version="0.1.0",
        lifespan=lifespan,
        description="KB article suggestions for the agent sidebar.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        responses=error_responses(),
    )
    app.state.settings = settings
    app.state.masker = masker
    app.state.metrics = metrics
    app.state.rate_limiter = (
        KeyRateLimiter(settings.rate_limit, settings.rate_limit_storage) if settings.rate_limit else None
    )
    app.state.outcome_mappings = outcome_mappings
    install_handlers(app, debug=settings.debug)
    app.add_middleware(RequestGuard, verifier=lambda: app.state.verifier, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in (suggestions, articles, admin, health, usage, usage_reports, usage_gaps, credits, dashboard):
        app.include_router(module.router)
    docs.install_docs(app, settings.docs_access)
    install_sidebar(app, settings.sidebar_frame_ancestors)
    install_dashboard(app)
    return app
