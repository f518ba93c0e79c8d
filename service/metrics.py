"""Prometheus metrics and the ASGI middleware that records every request.

Each app gets its own registry (no module-level collectors). When
``PROMETHEUS_MULTIPROC_DIR`` is set (``kbassist serve --workers N`` sets it), values
live in shared files and ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indexer.search import Retriever

BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2, 0.5, 1.0, 2.5)


class Metrics:
    """The service's collectors."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kbassist_requests", "HTTP requests served.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "kbassist_request_duration_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.index_info = Gauge(
            "kbassist_index_info",
            "1 for the index build being served.",
            ["version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.articles = Gauge(
            "kbassist_index_articles",
            "Articles in the served build.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.chunks = Gauge(
            "kbassist_index_chunks", "Chunks in the served build.", registry=self.registry, multiprocess_mode="livemax"
        )
        self.embed_batch = Histogram(
            "kbassist_embed_batch_size",
            "Queries embedded per model call.",
            buckets=(1, 2, 3, 4, 6, 8, 16, 32),
            registry=self.registry,
        )
        self.query_cache = Counter(
            "kbassist_query_cache_lookups",
            "Suggest queries looked up in the query-vector cache, by result.",
            ["result"],
            registry=self.registry,
        )
        self._version: str | None = None

    def index_loaded(self, retriever: Retriever) -> None:
        """Point the index gauges at a newly swapped-in build."""
        if self._version is not None:
            self.index_info.labels(self._version).set(0)
        self._version = retriever.version
        self.index_info.labels(retriever.version).set(1)
        self.articles.set(len(retriever.articles))
        self.chunks.set(retriever.n_chunks)

    def query_cache_looked_up(self, hits: int, lookups: int) -> None:
        """Count a batch's cache hits and misses."""
        self.query_cache.labels("hit").inc(hits)
        self.query_cache.labels("miss").inc(lookups - hits)

    def render(self) -> bytes:
        """The Prometheus text exposition (all workers in multiprocess mode)."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts requests and observes latency per route template (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], name, str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
