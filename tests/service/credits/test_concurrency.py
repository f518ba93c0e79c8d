"""20 concurrent writers (events, outcomes, redemptions, settles; repeated keys) give exactly the expected ledger."""

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, func, select

from service.credits import audit, crud
from service.credits.models import CreditEntry

WRITERS = 20


def post(client, path, key, body, idem=None):
    headers = {"X-API-Key": key, **({"Idempotency-Key": idem} if idem else {})}
    return client.post(path, json=body, headers=headers)


def test_overlapping_writers_give_exactly_the_expected_ledger(client, make_key):
    admin, integration = make_key("admin"), make_key("integration")
    linkers = [make_key("agent", f"linker-{n}") for n in range(WRITERS)]
    client.put(
        "/v1/agents/spender", json={"display_name": "S", "team": "t", "active": True}, headers={"X-API-Key": admin}
    )
    grant = {"agent_id": "spender", "points": 100, "reason": "seed", "idempotency_key": "seed"}
    assert post(client, "/v1/credits/adjustments", admin, grant).status_code == 200
    start = client.get("/v1/credits/agents/cs-002", headers={"X-API-Key": admin}).json()["balance"]

    def work(n):
        ticket = f"C-{n % 10}"  # two writers per ticket: the same link and outcome keys, sent twice
        link = {"article_id": "shipping-fee-refund", "event_id": f"link-{n % 10}"}
        statuses = [post(client, f"/v1/tickets/{ticket}/links", linkers[n % 10], link).status_code]
        outcome = {"status": "resolved", "agent_ids": [f"handler-{n % 10}"], "csat": 5}
        statuses.append(
            post(client, f"/v1/tickets/{ticket}/outcome", integration, outcome, f"out-{n % 10}").status_code
        )
        redeem = {"agent_id": "spender", "points": 15, "reward": "mug", "idempotency_key": f"r-{n % 12}"}
        statuses.append(post(client, "/v1/credits/redemptions", integration, redeem).status_code)
        statuses.append(client.get("/v1/credits/me", headers={"X-API-Key": linkers[n % 10]}).status_code)
        return statuses

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(work, range(WRITERS)))
    assert all(s[0] == 200 and s[1] in (200, 201) and s[3] == 200 for s in results), results
    redemptions = [s[2] for s in results]
    assert set(redemptions) <= {200, 409}
    client.post("/v1/credits/settle", headers={"X-API-Key": admin})
    with Session(client.app.state.engine) as session:
        assert audit.verify(session=session) == []
        assert crud.balance_of(session=session, agent_id="cs-002") == start + 10 * 5
        for n in range(10):
            assert crud.balance_of(session=session, agent_id=f"handler-{n}") == 5
        spent = session.exec(select(func.count()).where(CreditEntry.rule_id == "redemption")).one()
        assert spent == 100 // 15  # 6 distinct keys fit in 100 points; the rest were refused
        assert crud.balance_of(session=session, agent_id="spender") == 100 - 15 * spent


def test_concurrent_redemptions_never_overdraw(client, make_key):
    admin, integration = make_key("admin"), make_key("integration")
    client.put(
        "/v1/agents/racer", json={"display_name": "R", "team": "t", "active": True}, headers={"X-API-Key": admin}
    )
    assert (
        post(
            client, "/v1/credits/adjustments", admin, {"agent_id": "racer", "points": 50, "reason": "seed"}
        ).status_code
        == 200
    )

    def redeem(n):
        body = {"agent_id": "racer", "points": 10, "reward": "coffee", "idempotency_key": f"race-{n}"}
        return post(client, "/v1/credits/redemptions", integration, body).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        codes = list(pool.map(redeem, range(WRITERS)))
    assert codes.count(200) == 5 and codes.count(409) == WRITERS - 5
    with Session(client.app.state.engine) as session:
        assert crud.balance_of(session=session, agent_id="racer") == 0
        assert audit.verify(session=session) == []
