"""Findings 3 (masker), 4 (acting for another agent) and 10 (key cache) against the live server."""

import pytest

from service.keys import crud
from service.keys.auth import KeyVerifier
from tests.service.conftest import assert_error


def suggest(live, key, agent_id=None, **body):
    body.setdefault("query", "退款多久到账")
    headers = {"X-API-Key": key, **({"X-Agent-Id": agent_id} if agent_id is not None else {})}
    return live.http.post("/v1/suggest", json=body, headers=headers)


@pytest.mark.parametrize(
    ("role", "own_agent", "header", "status", "stored_as"),
    [
        ("agent", "a-1", None, 200, "a-1"),
        ("agent", "a-1", "a-1", 200, "a-1"),
        ("agent", "a-1", "a-2", 403, None),
        ("editor", None, None, 200, None),
        ("editor", None, "a-2", 403, None),
        ("editor", "e-1", "e-1", 200, "e-1"),
        ("editor", "e-1", "a-2", 403, None),
        ("admin", None, None, 200, None),
        ("admin", None, "a-2", 403, None),
        ("integration", None, None, 422, None),
        ("integration", None, "", 422, None),
        ("integration", None, "a-2", 200, "a-2"),
    ],
)
def test_only_integration_keys_act_for_another_agent(live, role, own_agent, header, status, stored_as):
    response = suggest(live, live.key(role, own_agent), header)
    if status == 200:
        assert response.status_code == 200, response.text
        assert live.stored(response.json()["suggestion_id"]).agent_id == stored_as
    elif status == 403:
        assert assert_error(response, 403, "forbidden")["details"] == {"agent_id": header}
    else:
        error = assert_error(response, 422, "validation_error")
        assert error["details"][0]["field"] == "x-agent-id" and "x-agent-id" in error["message"]


def test_a_role_refusal_comes_before_the_agent_rule(live):
    response = live.http.post("/v1/admin/reload", headers={"X-API-Key": live.key("integration")})
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("退款，手机１３９１１１１２２２２", "退款，手机[PHONE]"),
        ("退款 139.2222.3333", "退款 [PHONE]"),
        ("身份证 110105 19900307 1239 退款", "身份证 [ID] 退款"),
        ("退款 400-820-6688 2026-11-23 100元", "退款 400-820-6688 2026-11-23 100元"),
    ],
)
def test_written_out_pii_is_not_stored(live, query, stored):
    response = suggest(live, live.key("agent", "a-1"), query=query)
    assert response.status_code == 200, response.text
    assert live.stored(response.json()["suggestion_id"]).query == stored


def test_random_keys_do_not_push_verified_keys_out_of_the_cache(live, monkeypatch):
    verifier = KeyVerifier(live.app.state.engine, cache_seconds=60, integration_internal=False)
    key = live.key("agent", "a-1")
    principal = verifier.verify(key)
    assert principal is not None
    monkeypatch.setattr(crud, "get_api_key_by_hash", lambda **_: None)  # a flood of unknown keys, without the I/O
    for i in range(10_050):
        assert verifier.verify(f"kb_random-{i}") is None
    assert verifier.cached("kb_random-1") is None
    assert verifier.cached(key) == principal
