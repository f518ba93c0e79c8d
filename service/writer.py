"""Background writer: suggestion rows are queued by the request and inserted in batches.

The suggest path only appends to a queue; one thread collects rows for up to 0.2 s
and inserts them in a single statement. ``close()`` drains the queue before returning, so a clean
shutdown loses no row. A failed batch is retried once, then logged and dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service import crud

log = logging.getLogger(__name__)

_STOP = object()
MAX_BATCH = 500
LINGER_SECONDS = 0.2


class SuggestionWriter:
    """Inserts queued suggestion rows on its own thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="suggestion-writer", daemon=True)
        self._thread.start()

    def submit(self, row: dict[str, Any]) -> None:
        """Queue one row (never blocks)."""
        self._queue.put(row)

    def flush(self) -> None:
        """Wait until every row queued so far is written (or dropped after a failure)."""
        self._queue.join()

    def close(self) -> None:
        """Write everything still queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for attempt in (1, 2):
            try:
                with self._engine.begin() as connection:
                    crud.insert_suggestions(connection=connection, rows=rows)
                return
            except SQLAlchemyError:
                if attempt == 2:
                    log.exception("dropped %d suggestion row(s) after a failed insert", len(rows))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            items = [self._queue.get()]
            # Linger briefly so one insert carries many rows: per-statement cost, not per-row, dominates.
            deadline = time.monotonic() + LINGER_SECONDS
            while len(items) < MAX_BATCH and items[-1] is not _STOP:
                try:
                    items.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            rows = [item for item in items if item is not _STOP]
            stopping = len(rows) != len(items)
            try:
                if rows:
                    self._write(rows)
            finally:
                for _ in items:
                    self._queue.task_done()
