"""Ticket outcomes (own shape and the two webhook mappings), agents, flags, reports and the role matrix."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.service.conftest import assert_error
from tests.service.usage.test_mapping import FRESHDESK_BODY, ZENDESK_BODY


def h(key, **extra):
    return {"X-API-Key": key, **extra}


@pytest.fixture(scope="module")
def integration(make_key):
    return make_key("integration")


def test_outcomes_form_a_history_and_retries_store_nothing_new(client, integration):
    t0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
    resolve = {
        "status": "resolved",
        "csat": 5,
        "complexity": "L2",
        "agent_ids": ["oc-a1", "oc-a2"],
        "team": "refunds",
        "channel": "chat",
        "first_contact_resolution": True,
        "occurred_at": t0.isoformat(),
    }
    first = client.post("/v1/tickets/T-500/outcome", json=resolve, headers=h(integration, **{"Idempotency-Key": "k1"}))
    assert first.status_code == 200, first.text
    assert first.json()["agent_ids"] == ["oc-a1", "oc-a2"] and first.json()["csat"] == 5
    retry = client.post("/v1/tickets/T-500/outcome", json=resolve, headers=h(integration, **{"Idempotency-Key": "k1"}))
    assert retry.json() == first.json()
    changed = {**resolve, "csat": 1}
    conflict = client.post(
        "/v1/tickets/T-500/outcome", json=changed, headers=h(integration, **{"Idempotency-Key": "k1"})
    )
    assert_error(conflict, 409, "idempotency_conflict")
    reopen = {"status": "reopened", "occurred_at": (t0 + timedelta(days=1)).isoformat()}
    assert client.post("/v1/tickets/T-500/outcome", json=reopen, headers=h(integration)).status_code == 200
    # Without a key, the body's hash is the key: the same webhook re-sent is one fact.
    assert client.post("/v1/tickets/T-500/outcome", json=reopen, headers=h(integration)).status_code == 200
    history = client.get("/v1/tickets/T-500/outcomes", headers=h(integration)).json()
    assert [o["status"] for o in history["data"]] == ["resolved", "reopened"] and history["count"] == 2
    agents = client.get("/v1/agents", headers=h(client.app.state.test_admin_key)).json()["data"]
    assert {"oc-a1", "oc-a2"} <= {a["agent_id"] for a in agents if a["team"] is None}


@pytest.fixture(scope="module", autouse=True)
def admin_key(client, make_key):
    client.app.state.test_admin_key = make_key("admin")


def test_zendesk_and_freshdesk_webhook_bodies_are_accepted_unchanged(client, integration):
    zd = client.post("/v1/tickets/35436/outcome?mapping=zendesk", json=ZENDESK_BODY, headers=h(integration))
    assert zd.status_code == 200, zd.text
    assert zd.json() | {"id": 0, "idempotency_key": ""} == {
        "id": 0,
        "ticket_id": "35436",
        "status": "resolved",
        "first_contact_resolution": None,
        "csat": 5,
        "complexity": "L2",
        "agent_ids": ["li.na@example.com"],
        "team": "refunds",
        "channel": "chat",
        "occurred_at": "2026-11-30T01:15:00Z",
        "idempotency_key": "",
    }
    fd = client.post("/v1/tickets/8812/outcome?mapping=freshdesk", json=FRESHDESK_BODY, headers=h(integration))
    assert fd.status_code == 200, fd.text
    assert fd.json()["status"] == "closed" and fd.json()["idempotency_key"] == "fd-evt-77"
    assert fd.json()["first_contact_resolution"] is True and fd.json()["complexity"] == "L3"


def test_outcome_bad_input_is_refused_with_the_field_or_path(client, integration):
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    missing = {"ticket": {k: v for k, v in ZENDESK_BODY["ticket"].items() if k != "status"}}
    cases = [
        (
            client.post("/v1/tickets/T-9/outcome", json={"status": "resolved", "csat": 7}, headers=h(integration)),
            "csat",
        ),
        (client.post("/v1/tickets/T-9/outcome", json={"status": "done"}, headers=h(integration)), "status"),
        (
            client.post(
                "/v1/tickets/T-9/outcome", json={"status": "resolved", "complexity": "L4"}, headers=h(integration)
            ),
            "complexity",
        ),
        (
            client.post(
                "/v1/tickets/T-9/outcome", json={"status": "resolved", "occurred_at": future}, headers=h(integration)
            ),
            "future",
        ),
        (
            client.post(
                "/v1/tickets/T-9/outcome",
                json={"status": "resolved", "occurred_at": "31/11/2026"},
                headers=h(integration),
            ),
            "occurred_at",
        ),
        (
            client.post("/v1/tickets/35436/outcome?mapping=zendesk", json=missing, headers=h(integration)),
            "$.ticket.status",
        ),
        (client.post("/v1/tickets/999/outcome?mapping=zendesk", json=ZENDESK_BODY, headers=h(integration)), "35436"),
        (client.post("/v1/tickets/T-9/outcome?mapping=salesforce", json={}, headers=h(integration)), "salesforce"),
        (
            client.post(
                "/v1/tickets/T-9/outcome", json={"status": "resolved", "agent_ids": ["bad id"]}, headers=h(integration)
            ),
            "agent_ids",
        ),
    ]
    for response, needle in cases:
        assert needle in assert_error(response, 422, "validation_error")["message"]
    assert_error(client.get("/v1/tickets/T-9/outcomes", headers=h(integration)), 404, "not_found")


def test_agents_api_upserts_and_lists_by_team(client, make_key):
    admin = h(client.app.state.test_admin_key)
    put = client.put("/v1/agents/ag-1", json={"display_name": "李娜", "team": "refunds"}, headers=admin)
    assert put.status_code == 200 and put.json() == {
        "agent_id": "ag-1",
        "display_name": "李娜",
        "team": "refunds",
        "active": True,
    }
    listed = client.get("/v1/agents?team=refunds", headers=admin).json()
    assert [a["agent_id"] for a in listed["data"]] == ["ag-1"]
    assert_error(client.put("/v1/agents/bad id", json={}, headers=admin), 422, "validation_error")


def test_flags_resolve_with_a_masked_note(client, make_key):
    agent = make_key("agent", "fl-a1")
    s = client.post("/v1/suggest", json={"query": "运费退不退"}, headers=h(agent)).json()
    client.post(
        f"/v1/suggestions/{s['suggestion_id']}/events",
        headers=h(agent),
        json={"event_id": uuid.uuid4().hex, "type": "flagged", "article_id": s["results"][0]["article_id"]},
    )
    editor = h(make_key("editor", "ed-1"))
    flag = client.get("/v1/flags", headers=editor).json()["data"][-1]
    done = client.post(f"/v1/flags/{flag['id']}/resolve", json={"note": "已改，联系 li@example.com"}, headers=editor)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved" and done.json()["resolution_note"] == "已改，联系 [EMAIL]"
    assert done.json()["resolved_by"] == "ed-1"
    assert flag["id"] not in [f["id"] for f in client.get("/v1/flags", headers=editor).json()["data"]]
    assert_error(client.post("/v1/flags/999999/resolve", json={"note": "x"}, headers=editor), 404, "not_found")


def test_analytics_reports_state_their_definition(client, make_key):
    editor = h(make_key("editor"))
    body = client.get("/v1/analytics/link-rate?period=month&group_by=team", headers=editor).json()
    assert body["report"] == "link-rate" and body["time_zone"] == "Asia/Shanghai"
    assert "÷ closed or resolved tickets" in body["definition"]
    assert body["columns"] == ["group", "period", "closed", "linked", "link_rate", "trend"]
    for name in (
        "adoption",
        "adoption-by-rank",
        "funnel",
        "reuse",
        "reuse-distribution",
        "articles",
        "flags",
        "participation",
        "gaps",
    ):
        response = client.get(f"/v1/analytics/{name}?since=2026-01-01&until=2026-12-31", headers=editor)
        assert response.status_code == 200, (name, response.text)
    assert_error(client.get("/v1/analytics/nope", headers=editor), 404, "not_found")
    assert_error(client.get("/v1/analytics/funnel?period=year", headers=editor), 422, "validation_error")
    assert_error(
        client.get("/v1/analytics/funnel?since=2026-12-02&until=2026-12-01", headers=editor), 422, "validation_error"
    )


ROUTES = [
    ("post", "/v1/suggestions/" + "0" * 32 + "/events", {"agent", "integration"}),
    ("post", "/v1/suggestions/" + "0" * 32 + "/events/batch", {"agent", "integration"}),
    ("post", "/v1/tickets/RM-1/links", {"agent", "integration"}),
    ("delete", "/v1/tickets/RM-1/links/refund-arrival", {"agent", "integration"}),
    ("post", "/v1/tickets/RM-1/outcome", {"integration"}),
    ("get", "/v1/tickets/RM-1/outcomes", {"editor", "admin", "integration"}),
    ("get", "/v1/agents", {"admin"}),
    ("put", "/v1/agents/rm-x", {"admin"}),
    ("get", "/v1/flags", {"editor", "admin"}),
    ("post", "/v1/flags/1/resolve", {"editor", "admin"}),
    ("get", "/v1/analytics/funnel", {"editor", "admin"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_role_matrix(client, make_key, method, path, allowed):
    assert_error(getattr(client, method)(path), 401, "missing_api_key")
    for role in ("agent", "editor", "admin", "integration"):
        key = make_key(role, "rm-agent" if role == "agent" else None)
        kwargs = {"json": {}} if method in ("post", "put") else {}
        response = getattr(client, method)(path, headers=h(key, **{"X-Agent-Id": "rm-agent"}), **kwargs)
        if role in allowed:
            assert response.status_code != 403, (role, response.text)
        else:
            assert_error(response, 403, "forbidden")
