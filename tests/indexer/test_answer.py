from pathlib import Path

import pytest

from indexer.answer import MAX_VALUE_CHARS, Placeholder, build_answer, clean_value, fill_placeholders
from indexer.sources import read_entries
from indexer.validate import reply_section

ZH = """# 退款多久到账

退款审核通过后，原路退回。支付宝和微信余额即时到账，最晚 24 小时。银行卡 1–7 个工作日到账！信用卡 3–15 个工作日。

## 查不到退款怎么办

请先在订单详情查看退款状态；超过时限仍未到账，可联系银行查询。相关：[运费险](kb:shipping-fee-refund)
"""

TEMPLATE = (
    ZH
    + """
## 标准答复

{客户称呼}您好，您的订单{订单号}退款**{退款金额}元**已原路退回，银行卡一般 1–7 个工作日到账。
"""
)

FIRST_PARAGRAPH = ZH.split("\n")[2]

EN = """# How to cancel an order

Unpaid orders cancel automatically after 30 minutes. A paid order that has not shipped can be cancelled in the app, \
e.g. under My Orders. The refund goes back to the original payment method. Once shipped, an order cannot be \
cancelled; refuse the delivery or return it after receipt.
"""


def span(body: str, text: str) -> tuple[int, int]:
    start = body.index(text)
    return start, start + len(text)


def test_reply_section_is_the_answer_when_present():
    answer = build_answer(TEMPLATE, span(TEMPLATE, "退款审核通过后，原路退回。"), ["退款"])
    assert answer.source == "template"
    assert (answer.start, answer.end) == reply_section(TEMPLATE)
    assert answer.text == "{客户称呼}您好，您的订单{订单号}退款{退款金额}元已原路退回，银行卡一般 1–7 个工作日到账。"


def test_passage_is_the_answer_without_a_reply_section():
    answer = build_answer(ZH, span(ZH, "请先在订单详情查看退款状态；"), ["退款"], max_chars=300)
    assert answer.source == "passage"
    assert answer.text == "请先在订单详情查看退款状态；超过时限仍未到账，可联系银行查询。相关：运费险"
    assert ZH[answer.start : answer.end].startswith("请先在订单详情") and ZH[answer.end - 1] == ")"
    assert answer.placeholders == () and answer.filled == ()


def test_empty_reply_section_falls_back_to_a_passage():
    body = ZH + "\n## Reply\n\n"
    assert build_answer(body, span(body, "请先在订单详情"), []).source == "passage"


def test_placeholders_are_filled_and_the_rest_located():
    answer = build_answer(TEMPLATE, (0, 10), context={"客户称呼": "王女士", "快递公司": "顺丰"})
    assert answer.text.startswith("王女士您好，您的订单{订单号}退款{退款金额}元")
    assert answer.filled == ("客户称呼",)
    assert [p.name for p in answer.placeholders] == ["订单号", "退款金额"]
    for p in answer.placeholders:
        assert answer.text[p.start : p.end] == "{" + p.name + "}"


def test_blank_values_leave_placeholders_open():
    text, open_, filled = fill_placeholders("{a} and {a} and {b}", {"a": "  ", " b ": "x"})
    assert text == "{a} and {a} and x"
    assert open_ == (Placeholder("a", 0, 3), Placeholder("a", 8, 11))
    assert filled == ("b",)


def test_unknown_placeholder_names_stay_marked():
    text, open_, filled = fill_placeholders("Hi {customer_name}, ref {not_listed}.", {"customer_name": "Ann"})
    assert text == "Hi Ann, ref {not_listed}."
    assert open_ == (Placeholder("not_listed", 12, 24),) and filled == ("customer_name",)


def test_context_values_are_single_line_and_bounded():
    assert clean_value(" 王\n女士\t ") == "王 女士"
    long = clean_value("x" * 500)
    assert len(long) == MAX_VALUE_CHARS and long.endswith("…")
    text, _, _ = fill_placeholders("{v}!", {"v": "y" * 500})
    assert len(text) == MAX_VALUE_CHARS + 1


def test_placeholders_in_passages_are_not_templates():
    body = "# T\n\nUse the format {order_id} when you write to us."
    answer = build_answer(body, (5, len(body)), [], lang="en", context={"order_id": "X1"})
    assert answer.text == "Use the format {order_id} when you write to us." and answer.placeholders == ()


def test_chinese_passage_is_cut_at_sentence_ends():
    chunk = span(ZH, FIRST_PARAGRAPH)
    answer = build_answer(ZH, chunk, ["银行卡"], max_chars=40)
    assert answer.text == "银行卡 1–7 个工作日到账！信用卡 3–15 个工作日。"
    assert len(answer.text) <= 40
    assert ZH[answer.start : answer.end] == answer.text


def test_passage_starts_from_the_sentence_with_most_query_terms():
    chunk = span(ZH, FIRST_PARAGRAPH)
    answer = build_answer(ZH, chunk, ["信用卡"], max_chars=20)
    assert answer.text == "信用卡 3–15 个工作日。"


def test_english_passage_is_cut_at_sentence_ends():
    answer = build_answer(EN, (EN.index("Unpaid"), len(EN)), ["refund"], lang="en", max_chars=150)
    assert answer.text == (
        "The refund goes back to the original payment method. "
        "Once shipped, an order cannot be cancelled; refuse the delivery or return it after receipt."
    )
    answer = build_answer(EN, (EN.index("Unpaid"), len(EN)), ["cancelled", "app"], lang="en", max_chars=100)
    assert answer.text == "A paid order that has not shipped can be cancelled in the app, e.g. under My Orders."


def test_english_semicolon_does_not_end_a_sentence():
    answer = build_answer(EN, (EN.index("Unpaid"), len(EN)), ["shipped", "cannot"], lang="en", max_chars=120)
    assert answer.text == "Once shipped, an order cannot be cancelled; refuse the delivery or return it after receipt."


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("zh", "订单签收后七天内可以申请无理由退货，" * 12 + "请保留完整包装。"),
        ("en", "Returns are accepted within seven days of delivery for items in their original packaging " * 6 + "."),
    ],
)
def test_sentence_longer_than_the_limit_is_cut_with_an_ellipsis(lang, sentence):
    body = f"# T\n\n{sentence}\n"
    answer = build_answer(body, (5, len(body)), [], lang=lang, max_chars=60)
    assert answer.text.endswith("…") and len(answer.text) <= 60
    assert sentence.startswith(answer.text[:-1])
    assert answer.text[-2] not in "，, "
    assert body[answer.start : answer.end] == answer.text[:-1]


def test_passage_does_not_cross_a_bold_subheading():
    body = "# T\n\nIntro sentence here.\n\n**If a parcel is missing**\n1. Check every parcel.\n2. Report it to us.\n"
    answer = build_answer(body, (5, len(body)), ["parcel"], lang="en")
    assert answer.text == "Check every parcel.\nReport it to us."


def test_markdown_is_stripped_from_passages():
    body = "# 标题\n\n## 办理方式\n- **第一步**：打开 App；\n- 第二步：见[退款说明](kb:refund)。\n"
    answer = build_answer(body, span(body, "- **第一步**：打开 App；\n- 第二步：见[退款说明](kb:refund)。"), ["退款"])
    assert answer.text == "第一步：打开 App；\n第二步：见退款说明。"


def test_body_without_text_gives_an_empty_answer():
    answer = build_answer("# Only a title\n", (0, 0), ["x"])
    assert answer.text == "" and answer.source == "passage"


def test_title_only_chunk_answers_from_the_first_section_with_text():
    answer = build_answer(ZH, (0, 0), [], max_chars=20)
    assert answer.text == "退款审核通过后，原路退回。"


def test_most_public_articles_in_kb_content_have_a_reply():
    """Issue 7: at least 60% of customer-facing published articles carry a reply section."""
    content = Path(__file__).resolve().parents[2] / "kb_content"
    articles = [e.article for e in read_entries(content) if e.article is not None]
    public = [a for a in articles if a.audience == "public" and a.status == "published"]
    with_reply = [a for a in public if reply_section(a.body) is not None]
    assert public and len(with_reply) / len(public) >= 0.6
