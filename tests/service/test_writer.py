"""The background row writer on both databases: batching, flush, shutdown, and isolating bad rows."""

import logging
import uuid

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from service import writer as writer_module
from service.db import make_engine, upgrade
from service.suggestions.crud import insert_suggestions
from service.suggestions.models import Suggestion, SuggestionRow
from service.writer import RowWriter

SECRET_TICKET = "T-13811112222"
SECRET_QUERY = "退款 13911112222"


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def make_writer(engine, interval=60.0):
    """A suggestion writer; with the default interval only flush/close wake it."""
    return RowWriter(engine, insert_suggestions, name="suggestion", interval=interval)


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


def test_flush_writes_every_row_queued_before_it_in_batches(engine, monkeypatch):
    monkeypatch.setattr(writer_module, "MAX_BATCH", 7)
    writer = make_writer(engine)
    tag = uuid.uuid4().hex[:8]
    for _ in range(30):
        writer.submit(row(tag))
    assert stored(engine, tag) == 0
    writer.flush()
    assert stored(engine, tag) == 30
    writer.close()


def test_rows_arrive_without_flush_and_close_drains(engine):
    writer = make_writer(engine, interval=0.05)
    tag = uuid.uuid4().hex[:8]
    writer.submit(row(tag))
    for _ in range(100):
        if stored(engine, tag) == 1:
            break
        writer._wake.wait(0.05)
    assert stored(engine, tag) == 1
    late = uuid.uuid4().hex[:8]
    for _ in range(5):
        writer.submit(row(late))
    writer.close()
    assert stored(engine, late) == 5


def test_a_duplicate_row_is_dropped_alone_and_the_writer_goes_on(engine, caplog):
    writer = make_writer(engine)
    tag = uuid.uuid4().hex[:8]
    first = row(tag)
    writer.submit(first)
    writer.submit(first.model_copy())  # same primary key: the batch fails, then only the copy
    writer.flush()
    assert stored(engine, tag) == 1
    assert "dropped 1 suggestion row" in caplog.text
    assert "stored 1 of 2 suggestion row(s)" in caplog.text
    writer.submit(row(tag))
    writer.close()
    assert stored(engine, tag) == 2


@pytest.mark.parametrize(
    ("bad", "refused_by_sqlite"),
    [
        ({"query": "退款\x00" + SECRET_QUERY}, False),
        ({"agent_id": "a" * 65}, False),
        ({"ticket_id": SECRET_TICKET + "\ud800"}, True),
    ],
)
def test_one_bad_row_in_a_burst_is_dropped_alone_and_unquoted(engine, db_url, caplog, bad, refused_by_sqlite):
    """20 good rows and one that skipped validation: only that one may be lost, and the log shows no value."""
    caplog.set_level(logging.DEBUG)
    writer = make_writer(engine)
    tag = uuid.uuid4().hex[:8]
    for i in range(20):
        if i == 10:
            writer.submit(unvalidated(tag, **{"ticket_id": SECRET_TICKET, **bad}))
        writer.submit(row(tag, ticket_id=SECRET_TICKET, query=f"{SECRET_QUERY} {i}"))
    writer.flush()
    writer.close()
    refused = refused_by_sqlite or db_url.startswith("postgresql")
    assert stored(engine, tag) == (20 if refused else 21)
    if refused:
        assert "dropped 1 suggestion row" in caplog.text
    assert "13811112222" not in caplog.text and "13911112222" not in caplog.text and "a" * 65 not in caplog.text


def test_rows_are_validated_where_they_are_built():
    with pytest.raises(ValueError, match="agent_id"):
        row("t", agent_id="x" * 65)
    with pytest.raises(ValueError, match="renamed"):
        SuggestionRow(renamed="x", **row("t").model_dump())
    assert row("t", query="退款\x00", ticket_id="T-1").query == "退款"
    with pytest.raises(ValueError, match="ticket_id"):  # an id is refused, never cleaned into another one
        row("t", ticket_id="T-1\x1b")
