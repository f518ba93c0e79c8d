import pytest

from indexer.plaintext import plain_text


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("## 标题\n正文。", "标题\n正文。"),
        ("**重要**：请先**核对**订单。", "重要：请先核对订单。"),
        ("- 第一项；\n* 第二项；\n+ 第三项。", "第一项；\n第二项；\n第三项。"),
        ("1. Open the app.\n2) Tap **Orders**.", "Open the app.\nTap Orders."),
        ("见[运费险说明](kb:shipping-fee-refund)。", "见运费险说明。"),
        ('See [the form](https://example.com/form "Form").', "See the form (https://example.com/form)."),
        ("> 引用的话\n---\n`code` and ~~old~~ *new* _text_", "引用的话\ncode and old new text"),
        ("- [x] done item", "done item"),
        ("a  \t b\n\n\n c", "a b\nc"),
        ("{customer_name} and {order_id}", "{customer_name} and {order_id}"),
        ("![图](img.png)图片说明", "图片说明"),
        ("第一行<br>第二行", "第一行第二行"),
    ],
)
def test_markdown_becomes_plain_text(markdown, expected):
    assert plain_text(markdown)[0] == expected


def test_tables_become_cell_pairs_without_header():
    body = "| 地区 | 时效 |\n|---|---|\n| 一线城市 | 1–3 天 |\n| 偏远地区 | 5–10 天 |"
    assert plain_text(body)[0] == "一线城市：1–3 天\n偏远地区：5–10 天"
    assert plain_text(body, lang="en")[0] == "一线城市: 1–3 天\n偏远地区: 5–10 天"


def test_every_kept_character_points_at_its_body_offset():
    body = "# 标题\n\n- 退款请见[运费险](kb:x)，**尽快**处理。\n| a | b |"
    text, pos = plain_text(body)
    assert len(pos) == len(text)
    for ch, p in zip(text, pos, strict=True):
        if ch not in "\n：":
            assert body[p] == ch


def test_a_range_of_the_body_is_converted():
    body = "前言。\n## 小节\n- 只要这一句。\n尾声。"
    start = body.index("- 只要")
    end = body.index("尾声")
    text, pos = plain_text(body, start, end)
    assert text == "只要这一句。"
    assert pos[0] == start + 2
