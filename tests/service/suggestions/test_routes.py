"""POST /v1/suggest over a fake-embedder index, on SQLite and PostgreSQL: the contract and the stored row."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.db import make_engine
from service.main import create_app
from service.suggestions import crud
from service.suggestions.models import Suggestion
from tests.conftest import FakeEmbedder
from tests.service.conftest import SUGGEST, assert_error, create_key, make_settings, suggest


def stored(client, suggestion_id):
    """The suggestion row written for ``suggestion_id`` (committed before the answer)."""
    with Session(client.app.state.engine) as session:
        return crud.get_suggestion(session=session, suggestion_id=suggestion_id)


def test_suggest_returns_the_documented_shape(client, make_key):
    response = suggest(client, make_key("agent", "a-1"), top_k=3, ticket_id="T-1", channel="chat", lang="zh")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"suggestion_id", "results", "answerable", "searched_as", "index_version", "took_ms"}
    assert body["searched_as"] is None
    assert len(body["suggestion_id"]) == 32 and isinstance(body["answerable"], bool)
    assert body["index_version"] == client.get("/readyz").json()["index_version"]
    top = body["results"][0]
    assert set(top) == {
        "article_id",
        "title",
        "snippet",
        "score",
        "category",
        "updated",
        "stale",
        "answer",
        "answer_source",
        "answer_offsets",
        "placeholders",
    }
    assert top["article_id"] == "refund-arrival" and top["category"] == "refunds"
    assert top["updated"] == "2026-09-01" and top["stale"] is False
    assert "<mark>退款</mark>" in top["snippet"]


def test_suggestion_is_stored_with_the_masked_query(client, make_key):
    response = suggest(
        client, make_key("agent", "a-7"), query="退款没到账，手机13812345678，订单XL2026112300001234", ticket_id="T-9"
    )
    row = stored(client, response.json()["suggestion_id"])
    assert row is not None
    assert row.query == "退款没到账，手机[PHONE]，订单[ORDER]"
    assert row.agent_id == "a-7" and row.ticket_id == "T-9" and row.mode == "hybrid"
    assert row.results[0]["article_id"] == response.json()["results"][0]["article_id"]


@pytest.fixture
def embedded(client, monkeypatch):
    """Every query text the service's embedder is asked to embed, in order (the query-vector cache emptied first)."""
    client.app.state.batcher.clear_cache()
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


def test_a_burst_with_a_nul_query_stores_every_row(client, make_key):
    """20 normal requests and one with a NUL: all 21 are stored, the NUL removed at the edge."""
    agent, integration = make_key("agent", "a-1"), make_key("integration")
    ids = [suggest(client, agent, query=f"退款 {i}").json()["suggestion_id"] for i in range(20)]
    nul = suggest(client, integration, headers={"X-Agent-Id": "a-2"}, query="退款\u0000", ticket_id="T-1")
    assert nul.status_code == 200, nul.text
    rows = [stored(client, i) for i in [*ids, nul.json()["suggestion_id"]]]
    assert all(r is not None for r in rows)
    assert rows[-1] is not None and rows[-1].query == "退款" and rows[-1].ticket_id == "T-1"


def test_an_id_with_a_control_character_is_refused_not_cleaned(client, make_key):
    """Cleaned, "T-\\x001" would silently name ticket T-1: an id is sent as it is or refused."""
    response = suggest(client, make_key("agent", "a-1"), ticket_id="T-\u00001")
    assert assert_error(response, 422, "validation_error")["details"][0]["field"] == "ticket_id"


def post_raw(client, key, body):
    """POST ``body`` as ASCII JSON, so that a lone surrogate travels as the escape ``\\ud800``."""
    return client.post(
        SUGGEST, content=json.dumps(body), headers={"X-API-Key": key, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("value", ["退款\x1b[31m多久\x7f\x85", "退款\r\n多久\t到账"])
def test_control_characters_are_removed_before_storing(client, make_key, value):
    response = post_raw(client, make_key("agent", "a-1"), {"query": value, "channel": "chat\x00", "lang": "zh"})
    assert response.status_code == 200, response.text
    row = stored(client, response.json()["suggestion_id"])
    assert row is not None and row.channel == "chat" and row.lang == "zh"
    assert row.query == value.replace("\x1b", "").replace("\x7f", "").replace("\x85", "")


@pytest.mark.parametrize("field", ["query", "ticket_id"])
def test_a_lone_surrogate_is_422_naming_the_field(client, make_key, field):
    response = post_raw(client, make_key("agent", "a-1"), {"query": "退款", field: "退款\ud800"})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "\u0000"}, "query"),
        ({"query": "x", "ticket_id": "T" * 129}, "ticket_id"),
        ({"query": "x", "channel": "c" * 33}, "channel"),
        ({"query": "x", "lang": "l" * 17}, "lang"),
    ],
)
def test_stored_fields_over_their_column_or_empty_after_cleaning_are_422(client, make_key, body, field):
    response = client.post(SUGGEST, json=body, headers={"X-API-Key": make_key("admin")})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == field


def test_a_conversation_is_searched_by_the_customers_turns(client, make_key, embedded):
    messages = [
        {"role": "customer", "text": "你好，在吗"},
        {"role": "agent", "text": "您好，请问有什么可以帮您？手机号13800001111可以联系我们"},
        {"role": "customer", "text": "我的订单退款了"},
        {"role": "customer", "text": "多久到账，手机13812345678"},
    ]
    response = client.post(SUGGEST, json={"messages": messages}, headers={"X-API-Key": make_key("agent", "a-3")})
    assert response.status_code == 200, response.text
    assert embedded == ["我的订单退款了\n多久到账，手机[PHONE]"]
    assert response.json()["searched_as"] == "我的订单退款了\n多久到账，手机[PHONE]"
    row = stored(client, response.json()["suggestion_id"])
    assert row.query.splitlines() == [
        "customer: 你好，在吗",
        "agent: 您好，请问有什么可以帮您？手机号[PHONE]可以联系我们",
        "customer: 我的订单退款了",
        "customer: 多久到账，手机[PHONE]",
    ]


def test_a_pasted_chat_is_searched_like_the_same_turns(client, make_key, embedded):
    pasted = "客户：您好\n坐席：您好，请提供订单号\n客户：退款多久到账"
    body = suggest(client, make_key("agent", "a-1"), query=pasted).json()
    assert embedded == ["退款多久到账"] and body["searched_as"] == "退款多久到账"


def test_one_customer_turn_sent_as_messages_is_searched_without_greeting_or_label(client, make_key, embedded):
    messages = [{"role": "customer", "text": "您好，退款多久到账"}]
    response = client.post(SUGGEST, json={"messages": messages}, headers={"X-API-Key": make_key("agent", "a-1")})
    assert response.status_code == 200, response.text
    assert embedded == ["退款多久到账"] and response.json()["searched_as"] == "退款多久到账"


def test_a_pasted_chat_export_with_timestamps_is_masked_and_searched_by_the_customers_ask(client, make_key, embedded):
    pasted = (
        "顾客 2026-12-01 10:23:11\n你好\n客服小美 2026-12-01 10:23:15\n您好，很高兴为您服务，请问有什么可以帮您？\n"
        "顾客 2026-12-01 10:23:40\n退款多久到账，我手机13812345678"
    )
    body = suggest(client, make_key("agent", "a-1"), query=pasted).json()
    assert embedded == ["退款多久到账，我手机[PHONE]"] and body["searched_as"] == "退款多久到账，我手机[PHONE]"
    assert "13812345678" not in stored(client, body["suggestion_id"]).query


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": None}, "query"),
        ({"messages": [{"role": "customer", "text": "退款"}]}, "body"),
        ({"query": None, "messages": []}, "messages"),
        ({"query": None, "messages": [{"role": "boss", "text": "退款"}]}, "messages.0.role"),
        ({"query": None, "messages": [{"role": "customer", "text": "\u200b"}]}, "messages.0.text"),
        ({"query": None, "messages": [{"role": "customer", "text": "退" * 2000}] * 2}, "body"),
    ],
)
def test_query_xor_messages(client, make_key, body, field):
    error = assert_error(suggest(client, make_key("agent", "a-1"), **body), 422, "validation_error")
    assert field in {d["field"] for d in error["details"]}
