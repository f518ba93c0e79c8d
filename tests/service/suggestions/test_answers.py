"""Reply-ready answers in POST /v1/suggest (issue 7)."""

import pytest

from tests.service.conftest import SUGGEST, assert_error


def suggest(client, key, **body):
    body.setdefault("query", "退款多久到账")
    response = client.post(SUGGEST, json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def by_id(body, article_id):
    return next(r for r in body["results"] if r["article_id"] == article_id)


def test_article_with_a_reply_section_answers_with_its_template(client, make_key):
    top = suggest(client, make_key("agent", "a-1"))["results"][0]
    assert top["article_id"] == "refund-arrival"
    assert top["answer_source"] == "template"
    assert top["answer"] == "{客户称呼}您好，您的订单{订单号}退款{退款金额}元已原路退回，银行卡一般 1–7 个工作日到账。"
    assert [p["name"] for p in top["placeholders"]] == ["客户称呼", "订单号", "退款金额"]
    for p in top["placeholders"]:
        assert top["answer"][p["start"] : p["end"]] == "{" + p["name"] + "}"
    assert 0 < top["answer_offsets"]["start"] < top["answer_offsets"]["end"]


def test_article_without_a_reply_section_answers_with_a_passage(client, make_key):
    body = suggest(client, make_key("agent", "a-1"), query="运费险 赔付多少", top_k=5)
    result = by_id(body, "shipping-fee-refund")
    assert result["answer_source"] == "passage" and result["placeholders"] == []
    assert "运费险" in result["answer"] and len(result["answer"]) <= 300
    assert result["answer"].endswith("。")
    offsets = result["answer_offsets"]
    assert offsets["end"] - offsets["start"] == len(result["answer"])


def test_context_fills_placeholders_and_masks_pii(client, make_key):
    context = {"客户称呼": "王女士 13812345678", "退款金额": "59.00", "unused": "x"}
    top = suggest(client, make_key("agent", "a-1"), context=context)["results"][0]
    assert top["answer"].startswith("王女士 [PHONE]您好，您的订单{订单号}退款59.00元")
    assert "13812345678" not in top["answer"]
    assert [p["name"] for p in top["placeholders"]] == ["订单号"]
    p = top["placeholders"][0]
    assert top["answer"][p["start"] : p["end"]] == "{订单号}"


def test_order_numbers_follow_the_masking_config(client, make_key):
    key = make_key("agent", "a-1")
    masked = suggest(client, key, context={"订单号": "XL2026112300001234"})["results"][0]
    assert "您的订单[ORDER]退款" in masked["answer"]  # KB_PII_PATTERNS masks XL… order numbers by default
    kept = suggest(client, key, context={"订单号": "A-10086"})["results"][0]
    assert "您的订单A-10086退款" in kept["answer"]


def test_no_pii_from_the_query_reaches_an_answer(client, make_key):
    body = suggest(client, make_key("agent", "a-1"), query="退款没到账 手机13812345678 邮箱li@example.com", top_k=5)
    for result in body["results"]:
        assert "13812345678" not in result["answer"] and "li@example.com" not in result["answer"]
        assert "[PHONE]" not in result["answer"] and "[EMAIL]" not in result["answer"]


def test_passage_length_follows_the_setting(client, make_key):
    settings = client.app.state.settings
    client.app.state.settings = settings.model_copy(update={"answer_max_chars": 25})
    try:
        body = suggest(client, make_key("agent", "a-1"), query="运费险 赔付多少", top_k=5)
    finally:
        client.app.state.settings = settings
    result = by_id(body, "shipping-fee-refund")
    assert result["answer_source"] == "passage" and len(result["answer"]) <= 25


@pytest.mark.parametrize(
    "context",
    [
        {f"k{i}": "v" for i in range(21)},
        {"x" * 41: "v"},
        {"  ": "v"},
        {"订单号": "1" * 201},
        {"订单号": 5},
    ],
)
def test_context_limits_are_validated(client, make_key, context):
    key = make_key("admin")
    response = client.post(SUGGEST, json={"query": "退款", "context": context}, headers={"X-API-Key": key})
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"].startswith("context")
