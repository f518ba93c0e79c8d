"""A settle run over many tickets does not hold an agent's balance for the whole run (PostgreSQL row locks).

SQLite has one write lock for the whole database, so there every write waits for the
transaction in progress whatever its size; the test runs on PostgreSQL only.
"""

import threading
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.credits import settle as settle_module
from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.conftest import create_key, make_settings

WAIT = 10.0


@pytest.fixture(scope="module")
def quiet_client(db_url, shared_index, tmp_path_factory):
    """A service without the settle timer: only the test settles."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises every write on its one database lock")
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index)
    settings = settings.model_copy(update={"credits_settle_seconds": 0.0})
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


def post(client, path, key, body):
    response = client.post(path, json=body, headers={"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code in (200, 201), response.text
    return response


def test_a_redemption_is_answered_while_a_long_settle_run_goes_on(quiet_client, monkeypatch):
    """The agent credited by the first batch of tickets can redeem while the run settles a later batch."""
    client = quiet_client
    admin, integration = create_key(client.app, "admin"), create_key(client.app, "integration")
    agent = {"display_name": "E", "team": "t", "active": True}
    assert client.put("/v1/agents/early", json=agent, headers={"X-API-Key": admin}).status_code == 200
    post(client, "/v1/credits/adjustments", admin, {"agent_id": "early", "points": 10, "reason": "seed"})
    tickets = 3 * settle_module.TICKETS_PER_TRANSACTION
    for n in range(tickets):  # sorted ticket ids: "early" handles the first batch, "late" the rest
        agent = "early" if n < settle_module.TICKETS_PER_TRANSACTION else "late"
        body = {"status": "resolved", "agent_ids": [agent], "csat": 5}
        post(client, f"/v1/tickets/L-{n:03d}/outcome", integration, body)

    settle_tickets = settle_module._settle_tickets
    in_second_batch, redeemed = threading.Event(), threading.Event()
    batches: list[int] = []
    held_too_long: list[bool] = []

    def watched(session, ticket_ids, *args):
        written = settle_tickets(session, ticket_ids, *args)
        batches.append(len(ticket_ids))
        if len(batches) == 2:  # inside the second batch's transaction: hold it until the redemption is answered
            in_second_batch.set()
            held_too_long.append(not redeemed.wait(WAIT))
        return written

    monkeypatch.setattr(settle_module, "_settle_tickets", watched)
    bank = client.app.state.bank
    run = threading.Thread(target=lambda: bank.settle(Session(client.app.state.engine)))
    run.start()
    try:
        assert in_second_batch.wait(WAIT)
        body = {"agent_id": "early", "points": 1, "reward": "tea", "idempotency_key": uuid.uuid4().hex}
        answered = client.post("/v1/credits/redemptions", json=body, headers={"X-API-Key": integration})
        assert answered.status_code == 200, answered.text
    finally:
        redeemed.set()
        run.join(WAIT * 3)
    assert held_too_long == [False]  # answered while the run held its second batch open, not after the run
    assert batches == [settle_module.TICKETS_PER_TRANSACTION] * 3
