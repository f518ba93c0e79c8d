"""SuggestRoute: plain requests skip FastAPI's dependency solver, every other request goes through it unchanged."""

import pytest
from fastapi import APIRouter, FastAPI

from service.suggestions import direct
from service.suggestions.direct import SuggestRoute
from service.suggestions.schemas import SuggestRequest
from tests.service.conftest import assert_error, suggest


@pytest.fixture
def solver_calls(monkeypatch):
    """How many requests went through the route's solver (FastAPI's own handler)."""
    calls = []
    original = direct._direct_arguments

    async def counted(request, model):
        arguments = await original(request, model)
        calls.append(arguments is None)
        return arguments

    monkeypatch.setattr(direct, "_direct_arguments", counted)
    return calls


def comparable(response) -> dict:
    body = response.json()
    return {k: v for k, v in body.items() if k not in ("suggestion_id", "took_ms")}


def test_a_plain_request_skips_the_solver_and_answers_as_the_solver_does(client, make_key, solver_calls):
    agent = make_key("agent", "direct-1")
    plain = suggest(client, agent, query="退款多久到账", top_k=3, context={"name": "王"})
    via_solver = suggest(
        client, agent, headers={"X-Agent-Id": "direct-1"}, query="退款多久到账", top_k=3, context={"name": "王"}
    )
    assert plain.status_code == via_solver.status_code == 200, (plain.text, via_solver.text)
    assert solver_calls == [False, True]
    assert comparable(plain) == comparable(via_solver) and comparable(plain)["results"]
    assert plain.headers["content-type"] == via_solver.headers["content-type"] == "application/json"


def test_a_body_that_does_not_validate_gets_the_solvers_422_with_its_field(client, make_key, solver_calls):
    key = make_key("agent", "direct-2")
    error = assert_error(suggest(client, key, top_k=0), 422, "validation_error")
    assert any("top_k" in str(d) for d in error["details"])
    assert_error(
        client.post(
            "/v1/suggest", content=b"{not json", headers={"X-API-Key": key, "Content-Type": "application/json"}
        ),
        400,
        "invalid_json",
    )
    assert solver_calls == [True, True]


def test_an_agent_header_goes_through_the_solver_and_is_checked(client, make_key, solver_calls):
    key = make_key("agent", "direct-3")
    assert suggest(client, key, headers={"X-Agent-Id": "direct-3"}).status_code == 200
    assert_error(suggest(client, key, headers={"X-Agent-Id": "someone-else"}), 403, "forbidden")
    assert solver_calls == [True, True]


def test_the_route_refuses_an_endpoint_parameter_it_cannot_provide():
    async def endpoint(body: SuggestRequest, session: object) -> None: ...

    router = APIRouter(route_class=SuggestRoute)
    with pytest.raises(TypeError, match="session"):
        router.add_api_route("/x", endpoint, methods=["POST"])
        FastAPI().include_router(router)
