"""The credits API end to end on both databases: facts posted through the usage API, credits read back."""

import uuid

from sqlmodel import Session, select

from service.credits import audit
from service.credits.models import CreditEntry
from tests.service.conftest import assert_error, suggest


def link(client, key, ticket, article="refund-arrival"):
    body = {"article_id": article, "event_id": uuid.uuid4().hex}
    response = client.post(f"/v1/tickets/{ticket}/links", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text


def outcome(client, key, ticket, status, **body):
    body = {"status": status, "agent_ids": ["handler-1"], **body}
    headers = {"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex}
    response = client.post(f"/v1/tickets/{ticket}/outcome", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def me(client, key):
    response = client.get("/v1/credits/me", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def entries(client, agent, **params):
    admin = client.app.state.admin_key
    response = client.get(f"/v1/credits/agents/{agent}/entries", params=params, headers={"X-API-Key": admin})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_served_build_credits_its_authors_once_per_content_version(client, make_key):
    client.app.state.admin_key = make_key("admin")
    author = me(client, make_key("agent", "cs-001"))
    published = [e for e in author["recent"] if e["rule_id"] == "article_published"]
    assert published and all(e["points"] == 20 for e in published)
    client.app.state.bank.on_build(client.app.state.holder.retriever.articles, "again")
    assert me(client, make_key("agent", "cs-001"))["balance"] == author["balance"]


def test_citation_csat_and_complexity_follow_resolve_reopen_resolve(client, make_key):
    author_key, linker = make_key("agent", "cs-001"), make_key("agent", "linker-1")
    integration = make_key("integration")
    before = me(client, author_key)["balance"]
    link(client, linker, "T-100")
    outcome(client, integration, "T-100", "resolved", csat=5, complexity="L3")
    after = me(client, author_key)
    assert after["balance"] == before + 5
    assert after["recent"][0]["rule_id"] == "citation" and "T-100" in after["recent"][0]["reason"]
    assert me(client, make_key("agent", "handler-1"))["balance"] == 5 + 8
    outcome(client, integration, "T-100", "reopened")
    assert me(client, author_key)["balance"] == before
    assert me(client, make_key("agent", "handler-1"))["balance"] == 0
    outcome(client, integration, "T-100", "resolved", csat=4)
    assert me(client, author_key)["balance"] == before + 5
    assert me(client, make_key("agent", "handler-1"))["balance"] == 2 + 8
    citations = entries(client, "cs-001", rule="citation")
    assert [e["points"] for e in citations] == [5, -5, 5]
    assert {e["rules_version"] for e in citations} == {client.app.state.bank.rules.version}
    assert citations[1]["reverses_id"] == citations[2]["id"] and "reopened" in citations[1]["reason"]
    with Session(client.app.state.engine) as session:
        assert audit.verify(session=session) == []


def test_self_citation_earns_nothing_and_an_unlink_reverses_the_citation(client, make_key):
    author_key, integration = make_key("agent", "cs-001"), make_key("integration")
    before = me(client, author_key)["balance"]
    link(client, author_key, "T-200")
    outcome(client, integration, "T-200", "resolved")
    assert me(client, author_key)["balance"] == before
    linker = make_key("agent", "linker-2")
    link(client, linker, "T-201")
    outcome(client, integration, "T-201", "resolved")
    assert me(client, author_key)["balance"] == before + 5
    response = client.delete("/v1/tickets/T-201/links/refund-arrival", headers={"X-API-Key": linker})
    assert response.status_code == 200, response.text
    assert me(client, author_key)["balance"] == before


def test_redemption_debits_once_per_key_and_refuses_an_overdraft(client, make_key):
    redeemer, admin = make_key("integration"), make_key("admin")
    adjust = {"agent_id": "buyer-1", "points": 30, "reason": "onboarding bonus"}
    assert_error(client.post("/v1/credits/adjustments", json=adjust, headers={"X-API-Key": admin}), 404, "not_found")
    client.put(
        "/v1/agents/buyer-1",
        json={"display_name": "B", "team": "refunds", "active": True},
        headers={"X-API-Key": admin},
    )
    response = client.post("/v1/credits/adjustments", json=adjust, headers={"X-API-Key": admin})
    assert response.status_code == 200, response.text
    assert response.json()["balance"] == 30 and response.json()["entry"]["actor"].startswith("key:")
    body = {"agent_id": "buyer-1", "points": 20, "reward": "movie ticket", "idempotency_key": "r-1"}
    first = client.post("/v1/credits/redemptions", json=body, headers={"X-API-Key": redeemer})
    again = client.post("/v1/credits/redemptions", json=body, headers={"X-API-Key": redeemer})
    assert first.status_code == again.status_code == 200
    assert first.json() == {**again.json(), "balance": 10}
    changed = {**body, "points": 5}
    assert_error(
        client.post("/v1/credits/redemptions", json=changed, headers={"X-API-Key": redeemer}),
        409,
        "idempotency_conflict",
    )
    short = {**body, "idempotency_key": "r-2"}
    error = assert_error(
        client.post("/v1/credits/redemptions", json=short, headers={"X-API-Key": redeemer}), 409, "insufficient_points"
    )
    assert error["details"]["balance"] == 10
    with Session(client.app.state.engine) as session:
        assert session.exec(select(CreditEntry).where(CreditEntry.idempotency_key == "redemption:r-2")).first() is None


def test_bad_adjustments_are_refused_and_change_nothing(client, make_key):
    admin = make_key("admin")
    client.put(
        "/v1/agents/buyer-2",
        json={"display_name": "B", "team": "refunds", "active": True},
        headers={"X-API-Key": admin},
    )
    for bad, field in (
        ({"points": 1.5, "reason": "x"}, "points"),
        ({"points": 0, "reason": "x"}, "points"),
        ({"points": 5, "reason": "  "}, "reason"),
        ({"points": 5}, "reason"),
    ):
        error = assert_error(
            client.post("/v1/credits/adjustments", json={"agent_id": "buyer-2", **bad}, headers={"X-API-Key": admin}),
            422,
            "validation_error",
        )
        assert error["details"][0]["field"] == field
    negative = {"agent_id": "buyer-2", "points": -5, "reason": "correction"}
    assert_error(
        client.post("/v1/credits/adjustments", json=negative, headers={"X-API-Key": admin}), 409, "insufficient_points"
    )
    agent = make_key("agent", "buyer-2")
    assert_error(
        client.post("/v1/credits/adjustments", json={**negative, "points": 5}, headers={"X-API-Key": agent}),
        403,
        "forbidden",
    )
    assert me(client, agent)["balance"] == 0


def test_me_shape_and_explain(client, make_key):
    key = make_key("agent", "cs-001")
    body = me(client, key)
    assert set(body) == {"agent_id", "balance", "period", "period_points", "recent"}
    assert len(body["recent"]) <= 5 and set(body["recent"][0]) == {"id", "points", "rule_id", "reason", "created_at"}
    citation = entries(client, "cs-001", rule="citation")[-1]
    explained = client.get(f"/v1/credits/entries/{citation['id']}/explain", headers={"X-API-Key": key}).json()
    assert explained["entry"]["rule_id"] == "citation" and explained["facts"]["event"]["type"] == "linked"
    assert explained["facts"]["outcome"]["status"] == "resolved"
    other = make_key("agent", "someone-else")
    assert_error(
        client.get(f"/v1/credits/entries/{citation['id']}/explain", headers={"X-API-Key": other}), 404, "not_found"
    )
    assert_error(client.get("/v1/credits/agents/cs-001", headers={"X-API-Key": other}), 403, "forbidden")


def event(client, key, suggestion_id, kind, article, comment=None):
    body = {"event_id": uuid.uuid4().hex, "type": kind, "article_id": article, "comment": comment}
    response = client.post(f"/v1/suggestions/{suggestion_id}/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_helpful_vote_counts_only_after_the_article_was_shown_and_never_for_oneself(client, make_key):
    author = make_key("agent", "cs-001")
    voter, blind = make_key("agent", "voter-1"), make_key("agent", "voter-2")
    before = me(client, author)["balance"]
    for key in (voter, blind, author):
        found = suggest(client, key).json()
        article = found["results"][0]["article_id"]
        assert article == "refund-arrival"
        if key is not blind:
            event(client, key, found["suggestion_id"], "shown", article)
        event(client, key, found["suggestion_id"], "helpful", article)
    assert me(client, author)["balance"] == before + 1
    assert [e["reason"] for e in entries(client, "cs-001", rule="helpful_vote")] == [
        "voter-1 found article refund-arrival helpful"
    ]


def test_a_resolved_flag_credits_its_raiser_and_the_fixing_editor(client, make_key):
    raiser, editor = make_key("agent", "flagger-1"), make_key("editor", "editor-1")
    found = suggest(client, raiser).json()
    event(client, raiser, found["suggestion_id"], "flagged", "refund-arrival", comment="outdated fee")
    flag_id = client.get("/v1/flags", headers={"X-API-Key": editor}).json()["data"][-1]["id"]
    response = client.post(f"/v1/flags/{flag_id}/resolve", json={"note": "fixed"}, headers={"X-API-Key": editor})
    assert response.status_code == 200, response.text
    assert me(client, raiser)["recent"][0]["rule_id"] == "flag_confirmed"
    assert [e["points"] for e in entries(client, "editor-1", rule="flag_fixed")] == [3]
