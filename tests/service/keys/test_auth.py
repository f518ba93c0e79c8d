"""Who may call: API keys, roles and X-Agent-Id, through the HTTP API on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session

from service.keys import crud
from service.suggestions.models import Suggestion
from tests.service.conftest import SUGGEST, assert_error, suggest


@pytest.mark.parametrize(
    ("role", "sees_internal"), [("agent", True), ("editor", True), ("admin", True), ("integration", False)]
)
def test_internal_articles_only_for_allowed_roles(client, make_key, role, sees_internal):
    key = make_key(role, "a-1" if role == "agent" else None)
    headers = {"X-Agent-Id": "a-1"} if role == "integration" else None
    body = suggest(client, key, headers, query="安抚话术 客户情绪激动", top_k=10).json()
    assert ("internal-soothing" in {r["article_id"] for r in body["results"]}) is sees_internal


@pytest.mark.parametrize(
    ("role", "suggest_status", "reload_status"),
    [("agent", 200, 403), ("integration", 200, 403), ("editor", 200, 200), ("admin", 200, 200)],
)
def test_role_matrix(client, make_key, role, suggest_status, reload_status):
    key = make_key(role, "a-1" if role == "agent" else None)
    headers = {"X-Agent-Id": "a-1"} if role == "integration" else None
    assert suggest(client, key, headers).status_code == suggest_status
    response = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == reload_status, response.text
    if reload_status == 403:
        assert_error(response, 403, "forbidden")
    else:
        assert response.json()["outcome"] == "unchanged"


def test_missing_bad_and_revoked_keys_are_401(client, make_key):
    assert_error(client.post(SUGGEST, json={"query": "x"}), 401, "missing_api_key")
    assert_error(suggest(client, "kb_not-a-key"), 401, "invalid_api_key")
    key = make_key("admin")
    with Session(client.app.state.engine) as session:
        row = crud.list_api_keys(session=session)[-1]
        crud.revoke_api_key(session=session, key_id=row.id)
    assert_error(suggest(client, key), 401, "invalid_api_key")


def test_agent_key_is_bound_to_its_agent(client, make_key):
    key = make_key("agent", "a-1")
    assert suggest(client, key, headers={"X-Agent-Id": "a-1"}).status_code == 200
    error = assert_error(suggest(client, key, headers={"X-Agent-Id": "a-2"}), 403, "forbidden")
    assert error["details"] == {"agent_id": "a-2"}


def test_integration_key_acts_for_the_named_agent(client, make_key):
    response = suggest(client, make_key("integration"), headers={"X-Agent-Id": "a-42"})
    with Session(client.app.state.engine) as session:
        row = session.get(Suggestion, response.json()["suggestion_id"])
    assert row is not None and row.agent_id == "a-42"


@pytest.mark.parametrize("length", [65, 100_000])
def test_an_agent_id_longer_than_its_column_is_422_on_every_database(client, make_key, length):
    response = suggest(client, make_key("integration"), headers={"X-Agent-Id": "a" * length})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == "x-agent-id"
    assert "x-agent-id" in error["message"]


def test_an_agent_id_of_the_column_length_is_stored_whole(client, make_key):
    response = suggest(client, make_key("integration"), headers={"X-Agent-Id": "a" * 64})
    with Session(client.app.state.engine) as session:
        row = session.get(Suggestion, response.json()["suggestion_id"])
    assert row is not None and row.agent_id == "a" * 64
