"""Finding 3: PII in the fields stored beside the query, against the live server.

Enumerated fields take only their known values, identifiers match the documented
pattern and must not read as personal data (see ``service/fields.py``); nothing the
probes sent may be found in any stored row afterwards.
"""

import pytest
from sqlmodel import Session, select

from service.suggestions.models import Suggestion
from tests.service.conftest import assert_error

PROBES = [
    ({"ticket_id": "T-13811112222-lisi@example.com"}, None, "ticket_id", "value_error"),
    ({"ticket_id": "T-13811112222"}, None, "ticket_id", "pii"),
    ({"ticket_id": "T-139.2222.3333"}, None, "ticket_id", "pii"),
    ({"channel": "15922223333"}, None, "channel", "unknown_value"),
    ({"lang": "13633334444"}, None, "lang", "value_error"),
    ({}, "wang.wu@example.net 18655556666", "x-agent-id", "value_error"),
    ({}, "18655556666", "x-agent-id", "pii"),
    ({}, "wang.wu@example.net", "x-agent-id", "value_error"),
]
RAW = ("13811112222", "lisi@example.com", "2222.3333", "15922223333", "13633334444", "18655556666", "wang.wu")


def suggest(live, key, agent_id, **fields):
    headers = {"X-API-Key": key, **({"X-Agent-Id": agent_id} if agent_id is not None else {})}
    return live.http.post("/v1/suggest", json={"query": "退款多久到账", **fields}, headers=headers)


@pytest.mark.parametrize(("fields", "agent_id", "field", "kind"), PROBES)
def test_pii_in_a_stored_field_is_422_naming_the_field_not_the_value(live, fields, agent_id, field, kind):
    response = suggest(live, live.key("integration"), agent_id or "a-1", **fields)
    error = assert_error(response, 422, "validation_error")
    assert [(d["field"], d["type"]) for d in error["details"]] == [(field, kind)]
    assert "Value error" not in error["message"]
    if kind == "pii":
        assert not any(raw in response.text for raw in RAW)


def test_the_unknown_channel_lists_the_taxonomy_channels(live):
    error = assert_error(suggest(live, live.key("agent", "a-1"), None, channel="15922223333"), 422, "validation_error")
    assert error["details"][0]["allowed"] == ["app", "chat", "email", "phone", "ticket"]


def test_known_values_and_opaque_identifiers_are_stored_as_sent(live):
    agent = "agent.7:team/cs#1_b"
    response = suggest(live, live.key("integration"), agent, ticket_id="T-2026/12:02#0001", channel="phone", lang="en")
    assert response.status_code == 200, response.text
    row = live.stored(response.json()["suggestion_id"])
    assert (row.agent_id, row.ticket_id, row.channel, row.lang) == (agent, "T-2026/12:02#0001", "phone", "en")


def test_no_probe_reaches_a_stored_row(live):
    for fields, agent_id, _, _ in PROBES:
        suggest(live, live.key("integration"), agent_id or "a-1", **fields)
    with Session(live.app.state.engine) as session:
        rows = session.exec(select(Suggestion)).all()
    assert rows
    stored = [" ".join(str(v) for v in row.model_dump().values()) for row in rows]
    assert not [(raw, text) for text in stored for raw in RAW if raw in text]
