"""Background writer: suggestion rows are queued by the request and inserted in batches.

The suggest path only appends to a deque: no lock, no condition, no thread wake-up
per request. (A ``queue.Queue`` woke the writer thread on every ``put``; under load
the request thread then spent ~15% of its samples in ``Condition.notify`` waiting for
the GIL.) One thread wakes every 0.2 s, or at once for ``flush``/``close``, and
inserts what has accumulated in one statement per batch. ``close()`` drains
everything before returning, so a clean shutdown loses no row. A failed batch is
retried once, then logged and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service import crud

log = logging.getLogger(__name__)

_STOP = object()
MAX_BATCH = 500
INTERVAL_SECONDS = 0.2


class SuggestionWriter:
    """Inserts queued suggestion rows on its own thread."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self._engine = engine
        self._interval = interval
        self._items: deque[Any] = deque()  # rows, flush events and _STOP, in submission order
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="suggestion-writer", daemon=True)
        self._thread.start()

    def submit(self, row: dict[str, Any]) -> None:
        """Queue one row (never blocks, never wakes the writer)."""
        self._items.append(row)

    def flush(self) -> None:
        """Wait until every row queued so far is written (or dropped after a failure)."""
        done = threading.Event()
        self._items.append(done)
        self._wake.set()
        done.wait()

    def close(self) -> None:
        """Write everything still queued, then stop the thread."""
        self._items.append(_STOP)
        self._wake.set()
        self._thread.join()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), MAX_BATCH):
            batch = rows[start : start + MAX_BATCH]
            for attempt in (1, 2):
                try:
                    with self._engine.begin() as connection:
                        crud.insert_suggestions(connection=connection, rows=batch)
                    break
                except SQLAlchemyError:
                    if attempt == 2:
                        log.exception("dropped %d suggestion row(s) after a failed insert", len(batch))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            rows: list[dict[str, Any]] = []
            while self._items:
                item = self._items.popleft()
                if isinstance(item, threading.Event):
                    self._write(rows)
                    rows = []
                    item.set()
                elif item is _STOP:
                    stopping = True
                else:
                    rows.append(item)
            if rows:
                self._write(rows)
