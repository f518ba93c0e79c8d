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


@pytest.mark.parametrize(
    "text",
    [
        "退款多久到账",
        "用户名：zhang3\n想改绑手机号",
        "备注：客户要求退款\n请尽快处理",
        "客户来电很激动：物流5天没更新，我该怎么安抚？",  # an agent's note, not a turn
    ],
)
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


@pytest.mark.parametrize(
    "chat",
    [
        "2026-12-01 10:23:11 客户：你好\n2026-12-01 10:23:15 客服：您好，很高兴为您服务\n"
        "2026-12-01 10:23:40 客户：耳机拆封了还能退吗",
        "顾客 10:23\n你好\n客服小美 10:24\n亲，您好，请问有什么可以帮您\n顾客 10:25\n耳机拆封了还能退吗",
        "[10:23] 买家1：在吗\n[10:24] 客服小二：在的亲\n[10:25] 买家1：耳机拆封了还能退吗",
        "客户（10:23）：你好\n客服（10:24）：请稍等，正在为您查询\n2026/12/01\n客户（10:25）：耳机拆封了还能退吗",
    ],
)
def test_timestamps_around_labels_are_not_part_of_the_turns(chat):
    assert search_text(chat) == "耳机拆封了还能退吗"


def test_a_label_with_a_clock_time_alone_on_its_line_starts_a_turn():
    assert parse_turns("顾客 10:23\n你好\n客服小美 10:24\n您好") == [Turn("customer", "你好"), Turn("agent", "您好")]


def test_english_timestamps_and_agent_names():
    chat = (
        "[10:01] Customer: hi there, are you there?\n"
        "[10:01] Agent Lily: Thank you for contacting Xinglan, how may I help you?\n"
        "[10:02 AM] Customer: hello, I opened the earbuds box and I don't like them. can I still return them?"
    )
    assert search_text(chat) == "I opened the earbuds box and I don't like them. can I still return them?"


def test_an_unlabelled_paste_drops_greetings_and_agent_boilerplate():
    paste = "您好\n您好，欢迎光临星澜旗舰店，很高兴为您服务，请问有什么可以帮您？\n我前几天买的耳机\n拆封了，还能退吗"
    assert search_text(paste) == "我前几天买的耳机\n拆封了，还能退吗"
    english = "Hi\nWelcome to Xinglan, my name is Ann. How can I help you today?\nMy refund has not arrived"
    assert search_text(english) == "My refund has not arrived"
    # What customers say too is not an agent's stock phrase.
    message = "My name is Ann and my refund has not arrived"
    assert search_text(f"Hi\n{message}") == message


def test_an_unlabelled_message_of_several_lines_without_small_talk_is_searched_whole():
    message = "订单号XL2026112000001234\n耳机左边没声音\n能换吗"
    assert parse_turns(message) is None
    assert search_text(message) == message


def test_pleasantries_opening_a_turn_are_stripped_but_not_words_that_start_like_them():
    assert search_text("客户：你好，在吗？我想问下发票怎么开\n坐席：您好") == "我想问下发票怎么开"
    assert search_text("客户：好用吗这个耳机\n坐席：很好用") == "好用吗这个耳机"
    assert search_text("Customer: Hello, thanks. Where is my parcel?\nAgent: Let me check") == "Where is my parcel?"


def test_the_latest_turn_is_kept_with_only_the_turns_just_before_it():
    chat = (
        "客户：上个月买的笔记本发票抬头写错了\n坐席：已为您重开\n客户：好的谢谢\n客户：还有个事，我在你们这买的手表\n"
        "坐席：您好\n客户：是去年买的\n客户：拆开戴了两天不喜欢，还能退吗"
    )
    assert search_text(chat) == "还有个事，我在你们这买的手表\n是去年买的\n拆开戴了两天不喜欢，还能退吗"


def test_one_labelled_line_alone_is_one_turn():
    assert parse_turns("客户：你好，退款多久到账") == [Turn("customer", "你好，退款多久到账")]
    assert search_text(render([Turn("customer", "你好，退款多久到账")])) == "退款多久到账"
