"""Finding 9: one error shape with documented codes, strict types, visible queries, known filter values."""

import pytest

from service.errors import ERROR_CODES
from tests.service.conftest import assert_error


@pytest.fixture(scope="module")
def key(live):
    return live.key("agent", "a-1")


def post(live, key, content: bytes):
    return live.http.post(
        "/v1/suggest", content=content, headers={"X-API-Key": key, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"query": "\xff\xfe\xfa"}', "UTF-8"),
        (b'{"query": "x", "filters": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "nested"),
        (b'{"query": "x",\n "top_k": ', "line 2 column 11"),
        (b"not json", "line 1 column 1"),
        (b'{"query": "x', "Unterminated string starting at line 1 column 11"),
    ],
)
def test_unparsable_bodies_are_400_invalid_json(live, key, content, says):
    error = assert_error(post(live, key, content), 400, "invalid_json")
    assert says in error["message"]
    assert not error["details"] or error["details"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "x", "top_k": True}, "top_k"),
        ({"query": "x", "top_k": "5"}, "top_k"),
        ({"query": "\u0000"}, "query"),
        ({"query": "\u200b\u200c\u200d\ufeff"}, "query"),
        ({"query": " \t\n\u3000\u0000\u200b"}, "query"),
    ],
)
def test_wrong_types_and_invisible_queries_are_422(live, key, body, field):
    error = assert_error(live.http.post("/v1/suggest", json=body, headers={"X-API-Key": key}), 422, "validation_error")
    assert error["details"][0]["field"] == field


def test_unknown_filter_values_are_422_listing_the_allowed_ones(live, key):
    body = {"query": "退款", "filters": {"category": ["refunds", "nonexistent"], "channel": "fax"}}
    error = assert_error(live.http.post("/v1/suggest", json=body, headers={"X-API-Key": key}), 422, "validation_error")
    assert [(d["field"], d["type"]) for d in error["details"]] == [
        ("filters.category", "unknown_value"),
        ("filters.channel", "unknown_value"),
    ]
    assert error["details"][0]["allowed"] == sorted(
        ["refunds", "returns", "shipping", "orders", "account", "agent-playbook"]
    )
    assert "nonexistent" in error["message"] and "fax" in error["message"]
    body = {"query": "退款", "filters": {"category": "refunds", "product": "laptop", "channel": "chat"}}
    assert live.http.post("/v1/suggest", json=body, headers={"X-API-Key": key}).status_code == 200


def test_every_answered_code_is_documented(live, key):
    responses = [
        live.http.get("/nope"),
        live.http.get("/v1/suggest"),
        live.http.post("/v1/suggest", json={"query": "x"}),
        post(live, key, b"{"),
        live.http.post("/v1/suggest", json={"query": ""}, headers={"X-API-Key": key}),
    ]
    codes = {r.json()["error"]["code"] for r in responses}
    assert codes == {"not_found", "method_not_allowed", "missing_api_key", "invalid_json", "validation_error"}
    assert codes <= set(ERROR_CODES)
