"""The HTTP contract over a fake-embedder index, on SQLite and PostgreSQL."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.db import make_engine
from service.main import create_app
from service.models import Suggestion
from tests.conftest import FakeEmbedder
from tests.service.conftest import assert_error, create_key, make_settings

SUGGEST = "/v1/suggest"


def suggest(client, key, headers=None, **body):
    body.setdefault("query", "退款多久到账")
    return client.post(SUGGEST, json=body, headers={"X-API-Key": key, **(headers or {})})


def test_suggest_returns_the_documented_shape(client, make_key):
    response = suggest(client, make_key("agent", "a-1"), top_k=3, ticket_id="T-1", channel="chat", lang="zh")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"suggestion_id", "results", "answerable", "searched_as", "index_version", "took_ms"}
    assert body["searched_as"] is None
    assert len(body["suggestion_id"]) == 32 and isinstance(body["answerable"], bool)
    assert body["index_version"] == client.get("/readyz").json()["index_version"]
    top = body["results"][0]
    assert set(top) == {"article_id", "title", "snippet", "score", "category", "updated", "stale", "answer",
                        "answer_source", "answer_offsets", "placeholders"}  # fmt: skip
    assert top["article_id"] == "refund-arrival" and top["category"] == "refunds"
    assert top["updated"] == "2026-09-01" and top["stale"] is False
    assert "<mark>退款</mark>" in top["snippet"]


def test_suggestion_is_stored_with_the_masked_query(client, make_key):
    response = suggest(client, make_key("agent", "a-7"), query="退款没到账，手机13812345678，订单XL2026112300001234",
                       ticket_id="T-9")  # fmt: skip
    client.app.state.writer.flush()
    with Session(client.app.state.engine) as session:
        row = session.get(Suggestion, response.json()["suggestion_id"])
    assert row is not None
    assert row.query == "退款没到账，手机[PHONE]，订单[ORDER]"
    assert row.agent_id == "a-7" and row.ticket_id == "T-9" and row.mode == "hybrid"
    assert row.results[0]["article_id"] == response.json()["results"][0]["article_id"]


@pytest.fixture
def embedded(client, monkeypatch):
    """Every query text the service's embedder is asked to embed, in order."""
    fake_embedder = client.app.state.holder.embedder
    seen = []
    original = fake_embedder.embed_queries
    monkeypatch.setattr(fake_embedder, "embed_queries", lambda texts: seen.extend(texts) or original(texts))
    return seen


def test_pii_never_reaches_the_embedder(client, make_key, embedded):
    suggest(client, make_key("agent", "a-1"), query="我的邮箱 li@example.com 卡号4111111111111111")
    assert embedded == ["我的邮箱 [EMAIL] 卡号[CARD]"]


def test_pinyin_query_is_embedded_and_reported_as_searched(client, make_key, embedded):
    body = suggest(client, make_key("agent", "a-1"), query="tk多久到账，手机13812345678").json()
    assert embedded == ["退款多久到账，手机[PHONE]"]
    assert body["searched_as"] == "退款多久到账，手机[PHONE]"
    assert body["results"][0]["article_id"] == "refund-arrival"


def test_filters_apply_before_the_top_k_cut(client, make_key):
    key = make_key("agent", "a-1")
    body = suggest(client, key, query="订单 退款", top_k=1, filters={"category": "orders"}).json()
    assert [r["article_id"] for r in body["results"]] == ["en-order-cancel"]
    body = suggest(client, key, top_k=5, filters={"category": ["refunds"], "channel": "chat"}).json()
    assert {r["category"] for r in body["results"]} == {"refunds"}
    assert len(body["results"]) == 2


@pytest.mark.parametrize(("role", "sees_internal"), [("agent", True), ("editor", True), ("admin", True),
                                                     ("integration", False)])  # fmt: skip
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
    from service import crud

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
    client.app.state.writer.flush()
    with Session(client.app.state.engine) as session:
        row = session.get(Suggestion, response.json()["suggestion_id"])
    assert row is not None and row.agent_id == "a-42"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 4001}, "query"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "top_k": 51}, "top_k"),
        ({"query": "x", "mode": "fuzzy"}, "mode"),
        ({"query": "x", "filters": {"colour": "red"}}, "filters.colour"),
        ({"query": "x", "surprise": 1}, "surprise"),
    ],
)
def test_validation_errors_name_the_field(client, make_key, body, field):
    response = client.post(SUGGEST, json=body, headers={"X-API-Key": make_key("admin")})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == field
    assert field in error["message"]


def test_unknown_route_and_method_use_the_error_shape(client):
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.get(SUGGEST), 405, "method_not_allowed")


def test_health_endpoints_are_open(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["articles"] == 4
    assert client.get("/docs").status_code == 200


def test_metrics_expose_requests_latency_and_index(client, make_key):
    suggest(client, make_key("agent", "a-1"))
    text = client.get("/metrics").text
    version = client.get("/readyz").json()["index_version"]
    assert re.search(r'kbassist_requests_total\{method="POST",route="/v1/suggest",status="200"\} [1-9]', text)
    assert 'kbassist_request_duration_seconds_bucket{le="0.02",route="/v1/suggest"}' in text
    assert f'kbassist_index_info{{version="{version}"}} 1.0' in text
    assert "kbassist_index_articles 4.0" in text
    assert re.search(r"kbassist_embed_batch_size_count [1-9]", text)


def test_writer_drains_on_shutdown(db_url, shared_index, tmp_path):
    app = create_app(make_settings(tmp_path, db_url, shared_index), embedder=FakeEmbedder())
    with TestClient(app) as client:
        key = create_key(app, "agent", "a-1")
        ids = [suggest(client, key, query=f"退款 {i}").json()["suggestion_id"] for i in range(30)]
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            stored = set(session.exec(select(Suggestion.id)).all())
    finally:
        engine.dispose()
    assert set(ids) <= stored


def test_every_error_code_in_code_is_documented():
    from service import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ServiceError)]
    raised = {c.code for c in classes}
    assert raised | set(errors.HTTP_CODES.values()) | {"missing_api_key"} <= set(errors.ERROR_CODES)
    with pytest.raises(ValueError, match="undocumented error code"):
        errors.error_body("http_400", "x")


def test_docs_are_served_from_the_package_when_open(client):
    html = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html and "cdn." not in html
    assert client.get("/openapi.json").json()["paths"]["/v1/suggest"]
