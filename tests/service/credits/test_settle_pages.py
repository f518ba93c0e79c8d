"""A settle backlog goes in bounded transactions: each commits its page and cursors; a crash keeps the pages done."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from service.credits import audit, crud, settle
from service.credits.models import CreditEntry
from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.conftest import create_key, make_settings

TICKETS = 7


@pytest.fixture(scope="module")
def quiet(db_url: str, shared_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service without its settle timer, so that only the test settles; settled up to date at the start."""
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index)
    app = create_app(settings.model_copy(update={"credits_settle_seconds": 0.0}), embedder=FakeEmbedder())
    with TestClient(app) as client:
        settle_pages(app, page=500)  # the build's publication credits
        yield client


def post_backlog(client: TestClient, linker: str, integration: str, prefix: str) -> None:
    """A link and a resolved outcome for each of ``TICKETS`` tickets, none settled yet."""
    for n in range(TICKETS):
        body = {"article_id": "refund-arrival", "event_id": uuid.uuid4().hex}
        assert client.post(f"/v1/tickets/{prefix}-{n}/links", json=body, headers={"X-API-Key": linker}).is_success
        headers = {"X-API-Key": integration, "Idempotency-Key": uuid.uuid4().hex}
        resolved = {"status": "resolved", "agent_ids": [f"{prefix}-handler"], "csat": 5}
        assert client.post(f"/v1/tickets/{prefix}-{n}/outcome", json=resolved, headers=headers).is_success


def settle_pages(app: FastAPI, page: int) -> settle.Settled:
    bank = app.state.bank
    with Session(app.state.engine) as session:
        return settle.settle(session=session, rules=bank.rules, window_days=bank.window_days, zone=bank.zone, page=page)


def citations(app: FastAPI) -> int:
    with Session(app.state.engine) as session:
        return session.exec(select(func.count()).where(CreditEntry.rule_id == "citation")).one()


def test_a_backlog_settles_page_by_page_into_the_same_ledger(quiet, monkeypatch):
    app, pages, real = quiet.app, [], settle._settle_page

    def counted(*args):
        done, caught_up = real(*args)
        pages.append(done)
        return done, caught_up

    monkeypatch.setattr(settle, "_settle_page", counted)
    before = citations(app)
    post_backlog(quiet, create_key(app, "agent", "pager-linker"), create_key(app, "integration"), "Q")
    total = settle_pages(app, page=3)
    # 7 links and 7 outcomes past the cursors, 3 of each per transaction: 3 pages, the last one short
    assert len(pages) == 3
    assert citations(app) == before + TICKETS
    assert total.entries == sum(p.entries for p in pages) > 0
    with Session(app.state.engine) as session:
        assert crud.balance_of(session=session, agent_id="Q-handler") == TICKETS * 5
        assert audit.verify(session=session) == []


def test_a_crash_mid_backlog_keeps_the_committed_pages_and_a_rerun_finishes_it(quiet, monkeypatch):
    app, real, calls = quiet.app, settle._settle_tickets, []
    before = citations(app)
    post_backlog(quiet, create_key(app, "agent", "crash-linker"), create_key(app, "integration"), "R")

    def crash_on_the_second_page(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed mid-backlog")
        return real(*args)

    monkeypatch.setattr(settle, "_settle_tickets", crash_on_the_second_page)
    with pytest.raises(RuntimeError):
        settle_pages(app, page=3)
    assert 0 < citations(app) - before < TICKETS  # the first page is committed, the failed one rolled back
    monkeypatch.setattr(settle, "_settle_tickets", real)
    settle_pages(app, page=3)
    assert citations(app) == before + TICKETS
    with Session(app.state.engine) as session:
        assert crud.balance_of(session=session, agent_id="R-handler") == TICKETS * 5
        assert audit.verify(session=session) == []
