"""Suggestion events and ticket links over HTTP, on SQLite and PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from service.usage.models import Agent, Flag, UsageEvent
from tests.service.conftest import assert_error


def suggest(client, key, **body):
    body.setdefault("query", "退款多久到账")
    response = client.post("/v1/suggest", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def post_event(client, key, suggestion_id, headers=None, **body):
    body.setdefault("event_id", uuid.uuid4().hex)
    return client.post(
        f"/v1/suggestions/{suggestion_id}/events", json=body, headers={"X-API-Key": key, **(headers or {})}
    )


def count(client, model, *where):
    with Session(client.app.state.engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_event_posted_right_after_suggest_finds_its_queued_suggestion(client, make_key):
    key = make_key("agent", "ev-a1")
    s = suggest(client, key, ticket_id="T-100")
    top = s["results"][0]["article_id"]
    response = post_event(client, key, s["suggestion_id"], type="copied", article_id=top)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["suggestion_id"] == s["suggestion_id"] and body["ticket_id"] == "T-100"
    assert body["rank"] == 1 and body["agent_id"] == "ev-a1" and body["type"] == "copied"
    assert count(client, Agent, Agent.agent_id == "ev-a1") == 1


def test_same_event_id_returns_the_first_answer_and_a_different_payload_is_409(client, make_key):
    key = make_key("agent", "ev-a2")
    s = suggest(client, key)
    article = s["results"][0]["article_id"]
    first = post_event(client, key, s["suggestion_id"], event_id="evt-dup-1", type="helpful", article_id=article)
    again = post_event(client, key, s["suggestion_id"], event_id="evt-dup-1", type="helpful", article_id=article)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = post_event(client, key, s["suggestion_id"], event_id="evt-dup-1", type="dismissed", article_id=article)
    error = assert_error(other, 409, "idempotency_conflict")
    assert "evt-dup-1" in error["message"]
    assert count(client, UsageEvent, UsageEvent.event_id == "evt-dup-1") == 1


def test_same_event_id_twenty_times_concurrently_stores_one_row(client, make_key):
    key = make_key("agent", "ev-a3")
    s = suggest(client, key)
    article = s["results"][0]["article_id"]
    event_id = f"evt-race-{uuid.uuid4().hex[:8]}"

    def send(_):
        return post_event(
            client, key, s["suggestion_id"], event_id=event_id, type="flagged", article_id=article, comment="费用写错了"
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(send, range(20)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    assert len({r.text for r in responses}) == 1
    assert count(client, UsageEvent, UsageEvent.event_id == event_id) == 1
    assert count(client, Flag, Flag.agent_id == "ev-a3") == 1


def test_batch_gives_each_event_its_own_result(client, make_key):
    key = make_key("agent", "ev-a4")
    s = suggest(client, key)
    article = s["results"][0]["article_id"]
    events = [
        {"event_id": "b-1", "type": "shown", "article_id": article},
        {"event_id": "b-2", "type": "teleported", "article_id": article},
        {"event_id": "b-3", "type": "opened", "article_id": "not-in-results"},
        {"event_id": "b-1", "type": "shown", "article_id": article},
    ]
    response = client.post(
        f"/v1/suggestions/{s['suggestion_id']}/events/batch", json={"events": events}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 422, 422, 200]
    assert results[1]["error"]["code"] == "validation_error" and "type" in results[1]["error"]["message"]
    assert "not-in-results" in results[2]["error"]["message"]
    assert results[0]["event"] == results[3]["event"]
    too_many = client.post(
        f"/v1/suggestions/{s['suggestion_id']}/events/batch",
        json={"events": [events[0]] * 101},
        headers={"X-API-Key": key},
    )
    assert_error(too_many, 422, "validation_error")


def test_comments_are_masked_before_storage(client, make_key):
    key = make_key("agent", "ev-a5")
    s = suggest(client, key)
    article = s["results"][0]["article_id"]
    response = post_event(
        client, key, s["suggestion_id"], type="flagged", article_id=article, comment="客户电话13812345678说运费不对"
    )
    assert response.json()["comment"] == "客户电话[PHONE]说运费不对"
    flags = client.get("/v1/flags", headers={"X-API-Key": make_key("editor")}).json()["data"]
    assert any(f["comment"] == "客户电话[PHONE]说运费不对" and f["article_id"] == article for f in flags)


def test_bad_events_get_clear_errors_and_change_nothing(client, make_key):
    key = make_key("agent", "ev-a6")
    s = suggest(client, key)
    sid, article = s["suggestion_id"], s["results"][0]["article_id"]
    before = count(client, UsageEvent)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        (post_event(client, key, sid, type="liked", article_id=article), 422, "type"),
        (post_event(client, key, sid, type="opened", article_id="en-order-cancel-x"), 422, "en-order-cancel-x"),
        (post_event(client, key, sid, type="opened", article_id=article, occurred_at=future), 422, "future"),
        (post_event(client, key, sid, type="opened", article_id=article, occurred_at="yesterday"), 422, "occurred_at"),
        (
            post_event(client, key, sid, type="opened", article_id=article, occurred_at="2026-11-01T10:00:00"),
            422,
            "time zone",
        ),
        (post_event(client, key, sid, type="flagged", article_id=article, comment="x" * 1001), 422, "comment"),
        (post_event(client, key, sid, type="opened", article_id=article, event_id="has space"), 422, "event_id"),
        (post_event(client, key, "0" * 32, type="opened", article_id=article), 404, "not found"),
        (post_event(client, key, "not-a-suggestion", type="opened", article_id=article), 422, "suggestion_id"),
        (post_event(client, make_key("agent", "ev-other"), sid, type="opened", article_id=article), 403, "another"),
        (post_event(client, make_key("integration"), sid, type="opened", article_id=article), 422, "x-agent-id"),
    ]
    codes = {403: "forbidden", 404: "not_found", 422: "validation_error"}
    for response, status, needle in cases:
        error = assert_error(response, status, codes[status])
        assert needle in error["message"], error
    assert count(client, UsageEvent) == before


def test_integration_key_acts_for_the_agent_it_names(client, make_key):
    s = suggest(client, make_key("agent", "ev-a7"))
    response = post_event(
        client,
        make_key("integration"),
        s["suggestion_id"],
        headers={"X-Agent-Id": "ev-a7"},
        type="inserted",
        article_id=s["results"][0]["article_id"],
    )
    assert response.status_code == 200 and response.json()["agent_id"] == "ev-a7"


def test_a_malformed_x_agent_id_is_refused(client, make_key):
    headers = {"X-API-Key": make_key("integration"), "X-Agent-Id": "x" * 65}
    response = client.post("/v1/tickets/ZD-78/links", json={"article_id": "refund-arrival"}, headers=headers)
    assert "x-agent-id" in assert_error(response, 422, "validation_error")["message"]


def test_ticket_links_and_unlinks_without_a_suggestion(client, make_key):
    key = make_key("agent", "ev-a8")
    headers = {"X-API-Key": key}
    linked = client.post(
        "/v1/tickets/ZD-77/links", json={"article_id": "refund-arrival", "event_id": "l-1"}, headers=headers
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["type"] == "linked" and linked.json()["suggestion_id"] is None
    again = client.post(
        "/v1/tickets/ZD-77/links", json={"article_id": "refund-arrival", "event_id": "l-1"}, headers=headers
    )
    assert again.json() == linked.json()
    unlinked = client.delete("/v1/tickets/ZD-77/links/refund-arrival", headers={**headers, "Idempotency-Key": "u-1"})
    assert unlinked.status_code == 200 and unlinked.json()["type"] == "unlinked"
    assert count(client, UsageEvent, UsageEvent.ticket_id == "ZD-77") == 2
    unknown = client.post("/v1/tickets/ZD-77/links", json={"article_id": "no-such-article"}, headers=headers)
    assert "no-such-article" in assert_error(unknown, 422, "validation_error")["message"]
    bad_ticket = client.post("/v1/tickets/ZD 77/links", json={"article_id": "refund-arrival"}, headers=headers)
    assert_error(bad_ticket, 422, "validation_error")


def test_a_gap_report_is_an_event_on_the_closest_result(client, make_key):
    key = make_key("agent", "ev-gap")
    s = suggest(client, key, query="火星天气怎么样", ticket_id="T-GAP")
    top = s["results"][0]["article_id"]
    response = post_event(client, key, s["suggestion_id"], type="gap_reported", article_id=top)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "gap_reported" and response.json()["rank"] == 1
    assert count(client, UsageEvent, UsageEvent.type == "gap_reported", UsageEvent.ticket_id == "T-GAP") == 1
    assert_error(post_event(client, key, s["suggestion_id"], type="gap", article_id=top), 422, "validation_error")
