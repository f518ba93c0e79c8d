"""The group-commit row writer on both databases: committed before the future resolves, batches, bad rows alone."""

import logging
import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func
from sqlmodel import Session, select

from service.db import make_engine
from service.suggestions.crud import insert_suggestions
from service.suggestions.models import Suggestion, SuggestionRow
from service.writer import RowNotWritten, RowWriter

SECRET_TICKET = "T-13811112222"
SECRET_QUERY = "退款 13911112222"
WAIT = 30  # seconds a test waits for a future before failing (never reached when the writer works)


@pytest.fixture
def reader(db_url):
    """A second engine: its connections see only what the writer committed."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def commits(engine) -> list[int]:
    """A list that grows by one at every commit on ``engine``."""
    seen: list[int] = []
    event.listen(engine, "commit", lambda _connection: seen.append(1))
    return seen


class Gate:
    """An insert that holds its first batch until ``open()``: rows submitted meanwhile queue up."""

    def __init__(self):
        self.entered = threading.Event()
        self._open = threading.Event()
        self.batches: list[int] = []

    def insert(self, *, connection, rows):
        self.batches.append(len(rows))
        self.entered.set()
        assert self._open.wait(WAIT)
        insert_suggestions(connection=connection, rows=rows)

    def open(self):
        self._open.set()


def row(tag: str, **fields) -> SuggestionRow:
    values = {
        "id": f"{tag}{uuid.uuid4().hex}"[:32],
        "agent_id": "a-1",
        "query": "退款",
        "mode": "hybrid",
        "index_version": "v1",
        "answerable": True,
        "took_ms": 1.0,
        **fields,
    }
    return SuggestionRow(**values)


def unvalidated(tag: str, **fields) -> SuggestionRow:
    """A row that skipped validation, as a bug upstream of the writer would produce."""
    good = row(tag)
    return SuggestionRow.model_construct(**{**good.model_dump(), **fields})


def stored(engine, tag: str) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(Suggestion.id.startswith(tag))).one()  # type: ignore[union-attr]


def test_a_row_is_committed_when_its_future_resolves(engine, reader):
    writer = RowWriter(engine, insert_suggestions, name="suggestion")
    try:
        tag = uuid.uuid4().hex[:8]
        writer.submit(row(tag)).result(WAIT)
        assert stored(reader, tag) == 1
    finally:
        writer.close()


def test_rows_queued_while_a_batch_commits_are_committed_together(engine, reader):
    """Group commit: 40 rows arriving during one commit make one batch, one INSERT and one commit."""
    gate = Gate()
    writer = RowWriter(engine, gate.insert, name="suggestion")
    seen = commits(engine)
    tag = uuid.uuid4().hex[:8]
    try:
        first = writer.submit(row(tag))
        assert gate.entered.wait(WAIT)
        rest = [writer.submit(row(tag)) for _ in range(40)]
        assert not any(f.done() for f in [first, *rest])  # nothing is answered before its commit
        gate.open()
        for future in [first, *rest]:
            future.result(WAIT)
        assert gate.batches == [1, 40] and len(seen) == 2
        assert stored(reader, tag) == 41
    finally:
        gate.open()
        writer.close()


def test_a_duplicate_row_fails_alone_and_the_writer_goes_on(engine, caplog):
    gate = Gate()
    writer = RowWriter(engine, gate.insert, name="suggestion")
    tag = uuid.uuid4().hex[:8]
    gate.open()
    first = row(tag)
    writer.submit(first).result(WAIT)
    again = writer.submit(first.model_copy())  # same primary key: its batch fails, then only this row
    other = writer.submit(row(tag))
    with pytest.raises(RowNotWritten) as refused:
        again.result(WAIT)
    assert refused.value.unavailable is False
    assert other.result(WAIT) is None
    assert stored(engine, tag) == 2
    assert "dropped 1 suggestion row" in caplog.text
    writer.submit(row(tag)).result(WAIT)
    writer.close()
    assert stored(engine, tag) == 3


@pytest.mark.parametrize(
    ("bad", "refused_by_sqlite"),
    [
        ({"query": "退款\x00" + SECRET_QUERY}, False),
        ({"agent_id": "a" * 65}, False),
        ({"ticket_id": SECRET_TICKET + "\ud800"}, True),
    ],
)
def test_one_bad_row_in_a_batch_fails_alone_and_unquoted(engine, db_url, caplog, bad, refused_by_sqlite):
    """20 good rows and one that skipped validation in one batch: only that one may fail; no value is logged."""
    caplog.set_level(logging.DEBUG)
    gate = Gate()
    writer = RowWriter(engine, gate.insert, name="suggestion")
    tag = uuid.uuid4().hex[:8]
    try:
        writer.submit(row(tag))
        assert gate.entered.wait(WAIT)
        good = [writer.submit(row(tag, ticket_id=SECRET_TICKET, query=f"{SECRET_QUERY} {i}")) for i in range(20)]
        poor = writer.submit(unvalidated(tag, **{"ticket_id": SECRET_TICKET, **bad}))
        good += [writer.submit(row(tag)) for _ in range(5)]
        gate.open()
        refused = refused_by_sqlite or db_url.startswith("postgresql")
        for future in good:
            assert future.result(WAIT) is None
        if refused:
            with pytest.raises(RowNotWritten) as failed:
                poor.result(WAIT)
            assert failed.value.unavailable is False and failed.value.__cause__ is None
            assert "13811112222" not in str(failed.value)
            assert "dropped 1 suggestion row" in caplog.text
        else:
            assert poor.result(WAIT) is None
        assert gate.batches[1] == 26  # the 26 queued rows were one batch before they were tried alone
        assert stored(engine, tag) == (26 if refused else 27)
        assert "13811112222" not in caplog.text and "13911112222" not in caplog.text and "a" * 65 not in caplog.text
    finally:
        gate.open()
        writer.close()


def unreachable(db_url: str) -> sa.Engine:
    """An engine of the same kind whose database cannot be reached."""
    if db_url.startswith("postgresql"):
        return sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    return sa.create_engine(f"sqlite:////nonexistent-{uuid.uuid4().hex}/kbassist.db")


def test_rows_for_an_unreachable_database_fail_as_unavailable(db_url, caplog):
    engine = unreachable(db_url)
    writer = RowWriter(engine, insert_suggestions, name="suggestion")
    try:
        futures = [writer.submit(row("gone")) for _ in range(3)]
        for future in futures:
            with pytest.raises(RowNotWritten) as failed:
                future.result(WAIT)
            assert failed.value.unavailable is True
        assert "database unavailable" in caplog.text
    finally:
        writer.close()
        engine.dispose()


def test_close_commits_what_is_queued_and_refuses_later_rows(engine, reader):
    gate = Gate()
    writer = RowWriter(engine, gate.insert, name="suggestion")
    tag = uuid.uuid4().hex[:8]
    first = writer.submit(row(tag))
    assert gate.entered.wait(WAIT)
    queued = [writer.submit(row(tag)) for _ in range(5)]
    closing = threading.Thread(target=writer.close)
    closing.start()
    gate.open()
    closing.join(WAIT)
    assert not closing.is_alive()
    assert all(f.done() and f.exception() is None for f in [first, *queued])
    assert stored(reader, tag) == 6
    late = writer.submit(row(tag))
    assert late.done() and isinstance(late.exception(), RowNotWritten)


def test_rows_are_validated_where_they_are_built():
    with pytest.raises(ValueError, match="agent_id"):
        row("t", agent_id="x" * 65)
    with pytest.raises(ValueError, match="renamed"):
        SuggestionRow(renamed="x", **row("t").model_dump())
    assert row("t", query="退款\x00", ticket_id="T-1").query == "退款"
    with pytest.raises(ValueError, match="ticket_id"):  # an id is refused, never cleaned into another one
        row("t", ticket_id="T-1\x1b")


def checkouts(engine) -> list[object]:
    """The DBAPI connection of every pool checkout on ``engine``, in order."""
    seen: list[object] = []
    event.listen(engine, "checkout", lambda dbapi_connection, _record, _proxy: seen.append(dbapi_connection))
    return seen


def test_batches_reuse_the_writers_connection(engine, reader):
    taken = checkouts(engine)
    writer = RowWriter(engine, insert_suggestions, name="suggestion")
    tag = uuid.uuid4().hex[:8]
    try:
        for _ in range(3):  # one at a time: three batches
            writer.submit(row(tag)).result(WAIT)
    finally:
        writer.close()
    assert len(taken) == 1
    assert stored(reader, tag) == 3


def cut(dbapi_connection, reader, db_url: str) -> None:
    """Drop a connection as a restarted server (PostgreSQL) or a closed handle (SQLite) would."""
    if db_url.startswith("postgresql"):
        with reader.begin() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dbapi_connection.info.backend_pid})
    else:
        dbapi_connection.close()


def test_a_dropped_connection_is_replaced_and_the_row_written_once(engine, reader, db_url):
    taken = checkouts(engine)
    writer = RowWriter(engine, insert_suggestions, name="suggestion")
    tag = uuid.uuid4().hex[:8]
    try:
        writer.submit(row(tag)).result(WAIT)
        cut(taken[0], reader, db_url)
        writer.submit(row(tag)).result(WAIT)  # no RowNotWritten: tried again on a fresh connection
    finally:
        writer.close()
    assert len(taken) == 2
    assert stored(reader, tag) == 2
