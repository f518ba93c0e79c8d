"""Background writer: rows are queued by the request and inserted in batches on one thread.

The suggest path only appends to a deque: no lock, no condition, no thread wake-up
per request. (A ``queue.Queue`` woke the writer thread on every ``put``; under load
the request thread then spent ~15% of its samples in ``Condition.notify`` waiting for
the GIL.) One thread wakes every 0.2 s, or at once for ``flush``/``close``, and
inserts what has accumulated in one statement per batch. ``close()`` drains
everything before returning, so a clean shutdown loses no row.

One bad row must not take its batch with it: when a batch fails, its rows are
inserted one by one, each in its own transaction, and only the rows that fail alone
are dropped. Rows are validated where they are built (see ``service.fields``), so a
row failing here is a bug or a database problem. Logs name the error class and the
SQLSTATE, never the exception text: database messages quote the failing values.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

Row = TypeVar("Row")
Row_contra = TypeVar("Row_contra", contravariant=True)


class Insert(Protocol[Row_contra]):
    """A ``crud`` function inserting a batch of rows on a connection."""

    def __call__(self, *, connection: Connection, rows: Sequence[Row_contra]) -> None: ...


_STOP = object()
MAX_BATCH = 500
INTERVAL_SECONDS = 0.2


def _describe(exc: BaseException) -> str:
    """The error's class and SQLSTATE (or SQLite error name), without its message or parameters."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{name} ({code})" if code else name


class RowWriter(Generic[Row]):
    """Inserts queued rows of one table on its own thread."""

    def __init__(self, engine: Engine, insert: Insert[Row], *, name: str, interval: float = INTERVAL_SECONDS) -> None:
        """Start the thread.

        Args:
            engine: where the rows go.
            insert: inserts a batch of rows on a connection (a ``crud`` function).
            name: what the rows are, for the thread name and the log (``suggestion``).
            interval: seconds between writes when nobody flushes.
        """
        self._engine = engine
        self._insert = insert
        self._name = name
        self._interval = interval
        self._items: deque[object] = deque()  # rows, flush events and _STOP, in submission order
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    def submit(self, row: Row) -> None:
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

    def _insert_batch(self, rows: Sequence[Row]) -> None:
        with self._engine.begin() as connection:
            self._insert(connection=connection, rows=rows)

    def _write_batch(self, batch: Sequence[Row]) -> None:
        try:
            self._insert_batch(batch)
            return
        except Exception as exc:  # noqa: BLE001 - whatever failed, the rows are tried one by one
            log.warning(
                "%s batch of %d failed (%s); inserting its rows one by one", self._name, len(batch), _describe(exc)
            )
        dropped = 0
        for done, row in enumerate(batch):
            try:
                self._insert_batch([row])
            except (OperationalError, InterfaceError) as exc:
                # The database itself is unreachable: trying the remaining rows one by one would only wait longer.
                lost = len(batch) - done
                log.error("dropped %d %s row(s): database unavailable (%s)", lost, self._name, _describe(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the writer thread must survive any row
                dropped += 1
                log.error("dropped 1 %s row: %s", self._name, _describe(exc))
        if dropped:
            log.error("stored %d of %d %s row(s) of a failed batch", len(batch) - dropped, len(batch), self._name)

    def _write(self, rows: list[Row]) -> None:
        for start in range(0, len(rows), MAX_BATCH):
            self._write_batch(rows[start : start + MAX_BATCH])

    def _run(self) -> None:
        stopping = False
        while not stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            rows: list[Row] = []
            while self._items:
                item = self._items.popleft()
                if isinstance(item, threading.Event):
                    self._write(rows)
                    rows = []
                    item.set()
                elif item is _STOP:
                    stopping = True
                else:
                    rows.append(item)  # type: ignore[arg-type]  # only submit() queues anything else
            if rows:
                self._write(rows)
