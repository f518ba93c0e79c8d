"""Run the searches of concurrent requests together, embedding their queries in one call.

The multilingual USE streams every weight matrix once per call, so short queries
embedded together cost far less each than one by one (``kbassist_embed_batch_size`` in
``/metrics`` shows the batches a load forms; ``bench/load_test.py`` measures the effect).
Under load a worker holds several requests at once; each suggest request ``await``s its
search here while the event loop gathers the others.

How batches form without any timer: the first request schedules a flush with
``loop.call_soon``. Requests whose data arrived in the same loop iteration were queued
as tasks before that callback, so they reach :meth:`SearchBatcher.search` first and
join the batch. The flush embeds and searches the whole batch, so requests arriving
meanwhile wait in the socket buffers and form the next batch together. A lone request
is served at the next step of the loop: no added latency. (Batching only the embedding
gave batches of 1.4 queries on average at 8 clients: each request's search ran between
batches and split them.)

A closed group of busy clients splits into groups that alternate: while one batch is
searched, the clients of the previous one are still waiting for their rows to commit, so
their next requests miss it, and the batches stay small (1.5 queries at 8 clients on 2
workers) while the model's cost per query falls steeply with the batch (1.6 ms of CPU
alone, 0.8 ms each in fours, here). So the batcher *lingers*: when fewer requests wait
than were recently in the route at once (the route brackets its work with
:meth:`SearchBatcher.admitted`), it waits for the rest, up to ``linger`` seconds, and runs
as soon as they are all there. A lone client never waits (its peak is 1), and a burst
that does not come back costs at most ``linger``.

The batch's dense candidates are found the same way, in one index search for all its
queries (:meth:`indexer.search.Retriever.dense_candidates`): a product of several query
vectors with the passage matrix reads the matrix once, where a search per query reads it
for each; every search then scores its own candidates exactly, as alone.

Customers repeat themselves (退款多久到账 arrives thousands of times a day), so the
vectors of recent normalised queries are kept in a bounded LRU: a repeated message skips
the model, which is most of a suggest's work. The cache lives in the event-loop thread
that runs every batch, so it needs no lock; a vector depends only on the embedder and the
normalised text, so a new build does not invalidate it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cachetools import LRUCache

from indexer.embed import Embedder
from indexer.search import Retriever, SearchResult

log = logging.getLogger(__name__)

_WINDOW = 1.0  # seconds over which the peak of concurrent requests is kept


@dataclass(eq=False)  # one request is equal only to itself (hashable by identity)
class _Request:
    retriever: Retriever
    query: str
    options: dict[str, Any]
    future: asyncio.Future[SearchResult] = field(repr=False)


class SearchBatcher:
    """Collects the searches requested in one event-loop iteration and runs them together."""

    def __init__(
        self,
        embedder: Embedder,
        max_batch: int = 32,
        on_batch: Callable[[int], None] | None = None,
        cache_size: int = 0,
        on_lookup: Callable[[int, int], None] | None = None,
        linger: float = 0.0,
    ) -> None:
        """``on_batch`` gets the number of texts each model call embeds; ``on_lookup`` (hits, requests)
        for each batch when the cache of ``cache_size`` vectors is on; ``linger`` is the longest a
        batch waits for the requests expected to join it (seconds, 0 = never)."""
        self.embedder = embedder
        self.max_batch = max_batch
        self._on_batch = on_batch
        self._on_lookup = on_lookup
        self._vectors: LRUCache[str, Any] | None = LRUCache(cache_size) if cache_size > 0 else None
        self._pending: list[_Request] = []
        self._scheduled = False
        self.linger = linger
        self._timer: asyncio.TimerHandle | None = None
        self._inside = 0  # requests between entering and leaving admitted()
        self._peak = 0  # the most inside at once, this window and the one before
        self._peak_before = 0
        self._window_ends: float | None = None

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Bracket a request's whole handling: how many are inside at once tells a batch whom to wait for."""
        self._inside += 1
        self._peak = max(self._peak, self._inside)
        try:
            yield
        finally:
            self._inside -= 1

    def _expected(self, now: float) -> int:
        """The requests a batch may wait for: the peak of the last one to two windows (1 s each)."""
        if self._window_ends is None:
            self._window_ends = now + _WINDOW
        elif now >= self._window_ends:
            # A peak older than the window before this one (the worker was idle since) is forgotten.
            self._peak_before = self._peak if now < self._window_ends + _WINDOW else 0
            self._peak = self._inside
            self._window_ends = now + _WINDOW
        return max(self._peak, self._peak_before)

    def clear_cache(self) -> None:
        """Forget every cached query vector (the next search of each text calls the model)."""
        if self._vectors is not None:
            self._vectors.clear()

    async def search(self, retriever: Retriever, query: str, **options: Any) -> SearchResult:
        """``retriever.search(query, **options)``, its query embedded together with the others'.

        Every retriever passed in must use this batcher's embedder (one service, one
        embedder: a build made with another one is refused at load).
        """
        loop = asyncio.get_running_loop()
        request = _Request(retriever, query, options, loop.create_future())
        self._pending.append(request)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        elif self._timer is not None and len(self._pending) >= self._expected(loop.time()):
            self._timer.cancel()
            self._timer = None
            loop.call_soon(self._flush_now)  # after the others that arrived in this loop iteration
        return await request.future

    def _flush(self) -> None:
        """Run the batch now, or linger for the requests expected to join it."""
        loop = asyncio.get_running_loop()
        if self.linger > 0 and len(self._pending) < self._expected(loop.time()):
            self._timer = loop.call_later(self.linger, self._flush_now)
            return
        self._flush_now()

    def _flush_now(self) -> None:
        self._scheduled = False
        self._timer = None
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.max_batch):
            self._run([r for r in pending[start : start + self.max_batch] if not r.future.cancelled()])

    def _run(self, batch: list[_Request]) -> None:
        normalized: dict[_Request, str] = {}
        for r in batch:
            try:
                normalized[r] = r.retriever.normalize(r.query)
            except Exception as exc:  # noqa: BLE001 - the request's own error, raised in its handler
                r.future.set_exception(exc)
        batch = [r for r in batch if r in normalized]
        dense = [r for r in batch if r.options.get("mode", "hybrid") != "lexical"]
        vector_of: dict[_Request, Any] = {}
        if dense:
            try:
                vector_of = self._embed(dense, normalized)
            except Exception as exc:  # noqa: BLE001 - each waiting request gets the error
                for r in dense:
                    r.future.set_exception(exc)
                batch = [r for r in batch if r not in dense]
        found = self._dense_candidates([r for r in batch if r in vector_of], vector_of, normalized)
        for r in batch:
            try:
                vector, searched = vector_of.get(r), normalized[r]
                r.future.set_result(
                    r.retriever.search(
                        r.query, query_vector=vector, normalized=searched, dense_found=found.get(r), **r.options
                    )
                )
            except Exception as exc:  # noqa: BLE001 - the request's own error, raised in its handler
                r.future.set_exception(exc)

    @staticmethod
    def _dense_candidates(
        dense: list[_Request], vector_of: dict[_Request, Any], normalized: dict[_Request, str]
    ) -> dict[_Request, Any]:
        """The dense candidates of the batch's queries, one index search per retriever (and filters).

        Optional work: if it fails, each search finds its own candidates and meets the error itself.
        """
        by_retriever: dict[Retriever, list[_Request]] = {}
        for r in dense:
            by_retriever.setdefault(r.retriever, []).append(r)
        found: dict[_Request, Any] = {}
        for retriever, requests in by_retriever.items():
            if len(requests) < 2:
                continue
            try:
                ids = retriever.dense_candidates([(normalized[r], vector_of[r], r.options) for r in requests])
            except Exception:  # noqa: BLE001 - see the docstring
                log.warning("a batch's dense candidates failed; each search finds its own", exc_info=True)
                continue
            found.update(zip(requests, ids, strict=True))
        return found

    def _embed(self, dense: list[_Request], normalized: dict[_Request, str]) -> dict[_Request, Any]:
        """Each request's query vector: from the cache, else from one model call for the batch's new texts."""
        texts = [normalized[r] for r in dense]
        cache = self._vectors
        known = {} if cache is None else {t: v for t in set(texts) if (v := cache.get(t)) is not None}
        if cache is not None and self._on_lookup is not None:
            self._on_lookup(sum(1 for t in texts if t in known), len(texts))
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            for text, vector in zip(new, self.embedder.embed_queries(new), strict=True):
                if cache is not None:  # a read-only copy: it must not pin its batch's array or be changed by a caller
                    vector = np.array(vector, copy=True)
                    vector.flags.writeable = False
                    cache[text] = vector
                known[text] = vector
            if self._on_batch is not None:
                self._on_batch(len(new))
        return {r: known[normalized[r]] for r in dense}
