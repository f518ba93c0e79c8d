"""The background suggestion writer on both databases: batching, flush, shutdown, failures."""

import uuid

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from service import writer as writer_module
from service.db import make_engine, upgrade
from service.models import Suggestion, utcnow
from service.writer import SuggestionWriter


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def row(tag: str) -> dict:
    return {"id": f"{tag}-{uuid.uuid4().hex[:23]}", "created_at": utcnow(), "api_key_id": None, "agent_id": "a-1",
            "ticket_id": None, "channel": None, "query": "退款", "lang": None, "mode": "hybrid",
            "index_version": "v1", "results": [], "answerable": True, "took_ms": 1.0}  # fmt: skip


def stored(engine, tag: str) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(Suggestion.id.startswith(f"{tag}-"))).one()  # type: ignore[union-attr]


def test_flush_writes_every_row_queued_before_it_in_batches(engine, monkeypatch):
    monkeypatch.setattr(writer_module, "MAX_BATCH", 7)
    writer = SuggestionWriter(engine, interval=60)  # only flush/close wake it
    tag = uuid.uuid4().hex[:8]
    for _ in range(30):
        writer.submit(row(tag))
    assert stored(engine, tag) == 0
    writer.flush()
    assert stored(engine, tag) == 30
    writer.close()


def test_rows_arrive_without_flush_and_close_drains(engine):
    writer = SuggestionWriter(engine, interval=0.05)
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


def test_failed_batch_is_dropped_and_the_writer_goes_on(engine, caplog):
    writer = SuggestionWriter(engine, interval=60)
    tag = uuid.uuid4().hex[:8]
    bad = row(tag)
    writer.submit(bad)
    writer.submit(dict(bad))  # same primary key: the batch fails twice and is dropped
    writer.flush()
    assert "dropped 2 suggestion row(s)" in caplog.text
    writer.submit(row(tag))
    writer.close()
    assert stored(engine, tag) == 1
