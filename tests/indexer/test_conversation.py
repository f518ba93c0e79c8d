"""Chats pasted or sent as turns: the customer's substantive turns are the search text."""

import pytest

from indexer.conversation import Turn, focus, is_small_talk, parse_turns, render, search_text


def test_labelled_lines_become_turns_and_unlabelled_lines_continue_one():
    text = "客户：我买的耳机\n坐席：请问哪里有问题？\n客户：左耳没声音\n已经重启过了"
    assert parse_turns(text) == [
        Turn("customer", "我买的耳机"),
        Turn("agent", "请问哪里有问题？"),
        Turn("customer", "左耳没声音 已经重启过了"),
    ]


@pytest.mark.parametrize("text", ["退款多久到账", "客户：退款多久到账", "备注：客户要求退款\n请尽快处理"])
def test_text_without_two_labelled_lines_is_not_a_conversation(text):
    assert parse_turns(text) is None
    assert search_text(text) == text


def test_search_text_keeps_the_customers_substantive_turns_in_order():
    chat = (
        "Customer: Hi\nAgent: Hello, how can I help?\nCustomer: I ordered earbuds\n"
        "Agent: What happened?\nCustomer: only the case came"
    )
    assert search_text(chat) == "I ordered earbuds\nonly the case came"
    only_small_talk = "买家1：在吗？\n客服小二：在的亲\nCustomer Service Lily: hello\n买家1：好的，谢谢"
    assert search_text(only_small_talk) == "在吗？\n在的亲\nhello\n好的，谢谢"  # then every turn is kept


@pytest.mark.parametrize(
    ("text", "small"), [("你好，在吗？", True), ("Thanks!", True), ("好的", True), ("好的，退款呢", False)]
)
def test_small_talk(text, small):
    assert is_small_talk(text) is small


def test_rendered_turns_read_back_as_the_same_turns():
    turns = [Turn("customer", "在吗"), Turn("agent", "在的"), Turn("customer", "发票怎么开")]
    assert parse_turns(render(turns)) == turns
    assert focus(turns) == "发票怎么开"
