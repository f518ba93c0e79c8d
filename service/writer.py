"""Group commit: rows are inserted in batches on one thread, and each caller waits for its batch's commit.

A suggest answer names its suggestion id, and the agent's events for it may go to any
replica a moment later: the row must be committed, visible to every process, before the
answer leaves. Committing one row per request would cost a transaction each (on
PostgreSQL with synchronous commit, an ``fdatasync`` of ~9 ms here); instead the
request queues its row and awaits a future. One writer thread commits what has queued
in one INSERT; rows arriving meanwhile form the next batch, so under load a commit
carries many rows and at one client the row is written as soon as it arrives (no timer).

The request only appends to a deque and sets an event if it is not already set: no lock
of ours, and no wake-up of the writer while it is busy with the previous batch. (A
``queue.Queue`` woke the writer on every ``put``, and notifying under load cost the
request thread ~15% of its samples waiting for the GIL.)

One bad row must not take its batch with it: when a batch fails, its rows are inserted
one by one, each in its own transaction, and only the rows that fail alone are dropped;
their futures fail with :class:`RowNotWritten` and every other row's caller is answered
as usual. Rows are validated where they are built (see ``service.fields``), so a row
failing here is a bug or a database problem. Logs and :class:`RowNotWritten` name the
error class and the SQLSTATE, never the exception text: database messages quote the
failing values.

The thread keeps one connection checked out between batches: taking one from the pool
for every batch cost a liveness ping (a round trip on PostgreSQL), a checkout and a reset
on return, each time on the answer's path at one client. A connection that fails is given
back (the pool pings it before anyone reuses it), and a batch that found its connection
dropped (a restarted server, an idle connection cut) is tried once more on a fresh one (had
its commit in fact been made, the row fails there as a duplicate: never stored twice).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Generic, Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

Row = TypeVar("Row")
Row_contra = TypeVar("Row_contra", contravariant=True)


class Insert(Protocol[Row_contra]):
    """A ``crud`` function inserting a batch of rows on a connection (in the writer's transaction)."""

    def __call__(self, *, connection: Connection, rows: Sequence[Row_contra]) -> None: ...


class RowNotWritten(Exception):
    """A submitted row was not committed: the database refused it alone, was unreachable, or the writer stopped.

    ``unavailable`` is true when the database could not be reached (worth a retry), false
    when it refused this row (a bug upstream: rows are validated where they are built).
    The message holds the error class and SQLSTATE only, and no database exception is chained.
    """

    def __init__(self, message: str, *, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable


_STOP = object()
MAX_BATCH = 500

_Item = tuple[Row, "Future[None]"]


def _describe(exc: BaseException) -> str:
    """The error's class and SQLSTATE (or SQLite error name), without its message or parameters."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    name = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{name} ({code})" if code else name


def _resolve(future: Future[None], error: RowNotWritten | None = None) -> None:
    if future.set_running_or_notify_cancel():  # False: the caller gave up waiting; the row is written regardless
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class RowWriter(Generic[Row]):
    """Commits the queued rows of one table in batches on its own thread (group commit)."""

    def __init__(self, engine: Engine, insert: Insert[Row], *, name: str) -> None:
        """Start the thread.

        Args:
            engine: where the rows go.
            insert: inserts a batch of rows on a connection (a ``crud`` function).
            name: what the rows are, for the thread name and the log (``suggestion``).
        """
        self._engine = engine
        self._insert = insert
        self._name = name
        self._items: deque[object] = deque()  # (row, future) pairs and _STOP, in submission order
        self._connection: Connection | None = None  # used by the writer thread only
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-writer", daemon=True)
        self._thread.start()

    def submit(self, row: Row) -> Future[None]:
        """Queue one row; the future resolves once the transaction holding it has committed.

        It fails with :class:`RowNotWritten` if the row was dropped. Never blocks; wakes the
        writer only when it sleeps.
        """
        future: Future[None] = Future()
        if self._closed:
            future.set_exception(RowNotWritten(f"the {self._name} writer is stopped", unavailable=True))
            return future
        self._items.append((row, future))
        if not self._wake.is_set():
            self._wake.set()
        return future

    def close(self) -> None:
        """Commit everything still queued, then stop the thread; later rows fail at once."""
        self._closed = True
        self._items.append(_STOP)
        self._wake.set()
        self._thread.join()
        while self._items:  # queued by another thread while this one closed: nobody will write them
            item = self._items.popleft()
            if item is not _STOP:
                _resolve(item[1], RowNotWritten(f"the {self._name} writer is stopped", unavailable=True))  # type: ignore[index]

    def _insert_batch(self, rows: Sequence[Row]) -> None:
        try:
            self._insert_on_kept(rows)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._insert_on_kept(rows)  # the kept connection had died: once more, on a fresh one

    def _insert_on_kept(self, rows: Sequence[Row]) -> None:
        """Insert and commit on the thread's kept connection; a failure gives it back to the pool."""
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        try:
            with connection.begin():
                self._insert(connection=connection, rows=rows)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; the pool discards it
                log.debug("closing the %s writer's connection failed", self._name, exc_info=True)

    def _write_batch(self, batch: Sequence[_Item[Row]]) -> None:
        try:
            self._insert_batch([row for row, _ in batch])
        except Exception as exc:  # noqa: BLE001 - whatever failed, the rows are tried one by one
            log.warning(
                "%s batch of %d failed (%s); inserting its rows one by one", self._name, len(batch), _describe(exc)
            )
        else:
            for _, future in batch:
                _resolve(future)
            return
        self._write_alone(batch)

    def _write_alone(self, batch: Sequence[_Item[Row]]) -> None:
        dropped = 0
        for done, (row, future) in enumerate(batch):
            try:
                self._insert_batch([row])
            except (OperationalError, InterfaceError) as exc:
                # The database itself is unreachable: trying the remaining rows one by one would only wait longer.
                lost, reason = len(batch) - done, _describe(exc)
                log.error("dropped %d %s row(s): database unavailable (%s)", lost, self._name, reason)
                for _, waiting in batch[done:]:
                    _resolve(waiting, RowNotWritten(f"database unavailable ({reason})", unavailable=True))
                return
            except Exception as exc:  # noqa: BLE001 - the writer thread must survive any row
                dropped += 1
                log.error("dropped 1 %s row: %s", self._name, _describe(exc))
                _resolve(future, RowNotWritten(f"refused by the database ({_describe(exc)})", unavailable=False))
            else:
                _resolve(future)
        if dropped:
            log.error("stored %d of %d %s row(s) of a failed batch", len(batch) - dropped, len(batch), self._name)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            self._wake.wait()
            self._wake.clear()  # before draining: a row queued from now on sets it again
            batch: list[_Item[Row]] = []
            while self._items:
                item = self._items.popleft()
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)  # type: ignore[arg-type]  # only submit() queues anything else
            for start in range(0, len(batch), MAX_BATCH):
                self._write_batch(batch[start : start + MAX_BATCH])
        self._release()
