"""A 2xx suggest means its row is committed: read back at once, concurrent rows in batches, failures answered.

On SQLite and PostgreSQL. Rows are read through an engine of the test's own, so a row
still held in the service's process (queued, or in an uncommitted transaction) is not found.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from service.db import make_engine
from service.suggestions.crud import insert_suggestions
from service.suggestions.models import Suggestion
from service.writer import RowWriter
from tests.service.conftest import assert_error, suggest

CONCURRENT = 12
WAIT = 30


@pytest.fixture
def reader(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def present(engine, suggestion_ids) -> set[str]:
    with Session(engine) as session:
        return {sid for sid in suggestion_ids if session.get(Suggestion, sid) is not None}


def test_a_suggestion_answered_200_is_in_the_database_when_the_answer_arrives(client, make_key, reader):
    key = make_key("agent", "rec-1")
    for _ in range(5):
        response = suggest(client, key)
        assert response.status_code == 200, response.text
        suggestion_id = response.json()["suggestion_id"]
        assert present(reader, [suggestion_id]) == {suggestion_id}  # no flush, no wait


def test_concurrent_suggests_are_committed_in_batches(client, make_key, reader, monkeypatch):
    """While one batch commits, the rows of the requests arriving meanwhile queue and commit together."""
    writer = client.app.state.writer
    submitted, release = [], threading.Event()
    insert, submit = writer._insert, writer.submit
    batches: list[int] = []

    def held_insert(*, connection, rows):
        batches.append(len(rows))
        assert release.wait(WAIT)  # the first batch commits only once every request has queued its row
        insert(connection=connection, rows=rows)

    def counted_submit(row):
        submitted.append(row.id)
        if len(submitted) == CONCURRENT:
            release.set()
        return submit(row)

    commits: list[int] = []
    engine = client.app.state.engine
    listener = lambda _connection: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    monkeypatch.setattr(writer, "_insert", held_insert)
    monkeypatch.setattr(writer, "submit", counted_submit)
    key = make_key("agent", "rec-2")
    try:
        with ThreadPoolExecutor(CONCURRENT) as pool:
            responses = list(pool.map(lambda _: suggest(client, key), range(CONCURRENT)))
    finally:
        release.set()
        event.remove(engine, "commit", listener)
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    ids = [r.json()["suggestion_id"] for r in responses]
    assert present(reader, ids) == set(ids)
    assert sum(batches) == CONCURRENT and len(batches) < CONCURRENT
    assert len(commits) < CONCURRENT  # one commit per batch, not per row (other commits would only add)


def unreachable(db_url: str) -> sa.Engine:
    if db_url.startswith("postgresql"):
        return sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    return sa.create_engine(f"sqlite:////nonexistent-{uuid.uuid4().hex}/kbassist.db")


@pytest.fixture
def swap_writer(client):
    """Replace the service's writer by ``RowWriter(engine, insert)`` for one test."""
    state, original = client.app.state, client.app.state.writer

    def swap(engine, insert=insert_suggestions):
        state.writer = RowWriter(engine, insert, name="suggestion")

    yield swap
    if state.writer is not original:
        state.writer.close()
        state.writer = original


def test_suggest_is_503_and_unrecorded_when_the_database_is_unreachable(client, make_key, db_url, swap_writer):
    engine = unreachable(db_url)
    swap_writer(engine)
    error = assert_error(suggest(client, make_key("agent", "rec-3")), 503, "database_unavailable")
    assert "could not be recorded" in error["message"]
    engine.dispose()


def test_suggest_is_500_when_the_database_refuses_its_row_and_the_others_still_answer(
    client, make_key, reader, swap_writer
):
    """A refused row fails its own request only; the requests committed in the same batch answer 200."""

    def refuse_one(*, connection, rows):
        if any(r.ticket_id == "T-refused" for r in rows):
            raise ValueError("a bug upstream of the writer")
        insert_suggestions(connection=connection, rows=rows)

    swap_writer(client.app.state.engine, refuse_one)
    key = make_key("agent", "rec-4")
    tickets = ["T-refused"] + [f"T-{i}" for i in range(7)]
    with ThreadPoolExecutor(len(tickets)) as pool:
        responses = dict(zip(tickets, pool.map(lambda t: suggest(client, key, ticket_id=t), tickets), strict=True))
    assert_error(responses.pop("T-refused"), 500, "internal_error")
    assert [r.status_code for r in responses.values()] == [200] * len(responses)
    ids = [r.json()["suggestion_id"] for r in responses.values()]
    assert present(reader, ids) == set(ids)
