"""Rules the OpenAPI schema states and the server keeps: each found by tests/service/test_fuzz.py once.

Numbers past a column's range, years out of the date range, ids with control characters: a 422 naming
the field (they were 500s or silently cleaned). And what the schema allows is accepted (32.0 is an integer).
"""

from __future__ import annotations

import pytest

from service.fields import ROW_ID_MAX
from tests.service.conftest import assert_error, suggest

TOO_BIG = str(ROW_ID_MAX + 1)


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/credits/statement?period=0000-01", "period"),
        ("GET", "/v1/credits/statement?period=9999-12", "period"),
        ("GET", "/v1/credits/leaderboard?period=0001-01", "period"),
        ("GET", f"/v1/credits/entries/{TOO_BIG}/explain", "entry_id"),
        ("GET", f"/v1/credits/agents/a-1/entries?offset={TOO_BIG}", "offset"),
        ("POST", f"/v1/flags/{TOO_BIG}/resolve", "flag_id"),
        ("GET", "/v1/analytics/funnel?since=0001-01-01", "since"),
        ("GET", "/v1/analytics/funnel?until=9999-12-31", "until"),
    ],
)
def test_out_of_range_numbers_are_a_422_naming_the_field(client, make_key, method, path, field):
    response = client.request(method, path, json={"note": "ok"}, headers={"X-API-Key": make_key("admin")})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == field


def test_an_id_past_the_range_is_refused_by_the_schema(client):
    schema = client.get("/openapi.json").json()
    explain = schema["paths"]["/v1/credits/entries/{entry_id}/explain"]["get"]["parameters"][0]["schema"]
    assert explain["maximum"] == ROW_ID_MAX


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket_id": "\x00T-1"}, "ticket_id"),
        ({"ticket_id": "T-1\n"}, "ticket_id"),
        ({"lang": "zh\x00"}, "lang"),
        ({"context": {"": "x"}}, "context"),
        ({"context": {"\u200b\u3000": "x"}}, "context"),
        ({"context": {"订单号": "x" * 201}}, "context"),
        ({"query": "\x85\u00a0"}, "query"),
    ],
)
def test_suggest_refuses_what_its_schema_forbids(client, make_key, body, field):
    error = assert_error(suggest(client, make_key("admin"), **body), 422, "validation_error")
    assert error["details"][0]["field"] == field


def test_suggest_takes_what_its_schema_allows(client, make_key):
    key = make_key("admin")
    response = suggest(client, key, top_k=2.0, filters={"tags": "退款"}, context={"订单号": "XL1"})
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) <= 2


def test_the_suggest_schema_states_query_or_messages_and_the_context_limits(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    schema = schemas["SuggestRequest"]
    assert [branch["required"] for branch in schema["oneOf"]] == [["query"], ["messages"]]
    context = schema["properties"]["context"]["anyOf"][0]
    assert context["propertyNames"]["maxLength"] == 40 and context["propertyNames"]["minLength"] == 1
    assert context["maxProperties"] == 20 and context["additionalProperties"]["maxLength"] == 200
    assert {"type": "string"} in schemas["SuggestFilters"]["properties"]["channel"]["anyOf"]


def test_a_whole_number_of_points_may_be_sent_as_32_0(client, make_key):
    admin = make_key("admin")
    client.put("/v1/agents/schema-1", json={"display_name": "S", "active": True}, headers={"X-API-Key": admin})
    body = {"agent_id": "schema-1", "points": 32.0, "reason": "float from a spreadsheet"}
    response = client.post("/v1/credits/adjustments", json=body, headers={"X-API-Key": admin})
    assert response.status_code == 200, response.text
    assert response.json()["entry"]["points"] == 32
    refused = client.post("/v1/credits/adjustments", json={**body, "points": 0}, headers={"X-API-Key": admin})
    assert_error(refused, 422, "validation_error")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/agents/nul-1", {"display_name": "a\x00b", "team": "a\x00b", "active": True}),
        ("POST", "/v1/gaps", {"examples": ["a\x00b"], "title": "a\x00b"}),
        ("GET", "/v1/agents?team=a%00b", None),
        ("GET", "/v1/credits/leaderboard?team=a%00b", None),
        ("GET", "/v1/credits/agents/nul-1/entries?rule=a%00b", None),
    ],
)
def test_a_nul_in_free_text_is_removed_before_the_database_sees_it(client, make_key, method, path, body):
    """PostgreSQL refuses a NUL in text: these were 500s there."""
    response = client.request(method, path, json=body, headers={"X-API-Key": make_key("admin")})
    assert response.status_code in (200, 201), response.text
    assert "\x00" not in response.text and "\\u0000" not in response.text


@pytest.mark.parametrize("text", ["\x00", " \x00 ", "\x01\u3000"])
def test_free_text_left_blank_after_cleaning_is_a_422(client, make_key, text):
    response = client.put("/v1/agents/nul-2", json={"team": text}, headers={"X-API-Key": make_key("admin")})
    assert assert_error(response, 422, "validation_error")["details"][0]["field"] == "team"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/v1/agents/lax-1", {"active": 0}, "active"),
        ("PUT", "/v1/agents/lax-1", {"active": "no"}, "active"),
        ("POST", "/v1/gaps", {"examples": ["退款"], "size": True}, "size"),
    ],
)
def test_json_types_are_taken_as_the_schema_states_them(client, make_key, method, path, body, field):
    """Lax coercion accepted 0 as false and true as 1, where the schema says boolean and integer."""
    response = client.request(method, path, json=body, headers={"X-API-Key": make_key("admin")})
    assert assert_error(response, 422, "validation_error")["details"][0]["field"] == field


def _keys(node, found):
    if isinstance(node, dict):
        found.update(node)
        for value in node.values():
            _keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _keys(value, found)
    return found


def test_every_bound_reaches_the_schema_as_json_schema(client):
    """A bound on an optional field once reached it as pydantic's "ge"/"le", which validators ignore."""
    keys = _keys(client.get("/openapi.json").json(), set())
    assert not keys & {"ge", "le", "gt", "lt"}
    assert {"maximum", "minimum", "pattern", "maxLength"} <= keys
