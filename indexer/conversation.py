"""A chat excerpt, pasted or sent as turns: what the customer asks is what gets searched.

Agents paste whole chats into the sidebar: greetings, the agent's own lines ("请提供订单号",
"您可以用支付宝或微信支付", "很高兴为您服务"), then the ask in the customer's latest turn.
Embedded as one text, the agent's words and the pleasantries pull the results toward
whatever they mention (a pasted "您好…很高兴为您服务…耳机拆封了还能退吗" ranked the guides
for elderly customers first). So a chat is read as turns and searched by the customer's
substantive turns:

- **Labelled lines** (``客户：`` / ``坐席：``, ``Customer:`` / ``Agent:`` and their usual
  variants, with a short name or number, ``买家1``, ``客服小二``, ``Agent Lily``) start a turn;
  a timestamp before the label or before the colon is ignored (``[10:23] Agent: …``,
  ``2026-12-01 10:23:11 客户：…``), and a label with a timestamp alone on its line
  (``顾客 10:23``, the chat tools' export form) starts a turn continued by the lines below.
- **Unlabelled pastes** of several lines are read as turns when one of their lines is
  small talk or agent boilerplate (:data:`_BOILERPLATE`): those lines are dropped.
- **Small talk** (greetings, "are you there", thanks, acknowledgements) is dropped as a
  whole turn, and stripped where it opens a turn ("你好，我想问下…" → "我想问下…").
- **Recency**: the latest substantive customer turn and the :data:`CONTEXT_TURNS` before it
  are searched, so a long chat is searched for its latest ask with the context just before
  it rather than for its first topic. The turns before the latest are not dropped: it often
  leans on them ("我在你们这买的手表" … "拆开戴了两天不喜欢，还能退吗"); searching the
  latest turn alone, or repeating it, ranked worse on the golden set's chat excerpts
  (eval/RESULTS.md).

Text that is none of these is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "agent"]

# Earlier substantive customer turns kept before the latest one.
CONTEXT_TURNS = 2

_CUSTOMER = ("客户", "顾客", "买家", "用户", "客人", "customer", "user", "buyer", "client")
_AGENT = ("坐席", "客服", "售后", "店员", "小二", "customer service", "agent", "staff", "support", "service")
# A date and/or a clock time, as chat tools print them; optionally bracketed.
_TIME = r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?[\sT]*)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?"
_STAMP = rf"[\[(（【]?\s*{_TIME}\s*[\])）】]?"
# Agent labels are tried first so "customer service" is not read as "customer". The name may not
# start a clock time, so "顾客 10:23" is a label and a time, not a label "顾客 10" saying "23".
_LINE = re.compile(
    rf"^\s*(?:{_STAMP}\s*)?(?P<label>{'|'.join(_AGENT + _CUSTOMER)})"
    rf"(?P<name>[\s\-_·]?(?!{_TIME})[^\s:：()（）\[\]【】]{{1,8}})?"
    rf"\s*(?:{_STAMP}\s*[:：]?|[:：])\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_ONLY_STAMP = re.compile(rf"^\s*{_STAMP}\s*$")
_SMALL_TALK_WORDS = (
    r"你好|您好|哈喽|嗨|(?:hello|hi|hey)(?: there)?|在吗|在不在|在么|有人吗|(?:are you|anyone) there|请问|"
    r"谢谢|多谢|感谢|麻烦了|好的|好|嗯|哦|噢|ok|okay|"
    r"thanks|thank you|thx|亲|亲亲|good (?:morning|afternoon|evening)|早上好|下午好|晚上好|早|辛苦了"
)
# A turn that is only pleasantries: greetings, "are you there", thanks, acknowledgements.
_SMALL_TALK = re.compile(rf"(?:{_SMALL_TALK_WORDS}|[\s\W_])*", re.IGNORECASE)
# Pleasantries opening a turn, each followed by punctuation or a space ("你好，" but not "好用吗").
_OPENING = re.compile(rf"^(?:(?:{_SMALL_TALK_WORDS})+[\s,，.。!！?？~～、]+)+", re.IGNORECASE)
# What agents (and their macros) say that never carries a customer's question.
_BOILERPLATE = re.compile(
    r"很高兴为您服务|有什么(?:可以|能)?(?:帮|为)(?:到)?您|欢迎(?:光临|来到|咨询)|感谢您的(?:耐心)?等待|请(?:您)?稍等|"
    r"正在为您|(?:帮|为)您(?:查|看|核实|处理)(?:一下|询)?|还有(?:其他|别的|什么)(?:问题|需要|可以)|祝您.{0,6}愉快|"
    r"客服.{0,6}为您服务|我是.{0,8}客服|请问(?:您)?(?:有)?什么(?:问题|需要)|"
    r"how (?:can|may) i (?:help|assist)|thank(?:s| you) for (?:contacting|reaching|waiting|your patience|choosing)|"
    r"please (?:hold|wait)|let me (?:check|look)|is there anything else|have a (?:nice|great|good) day|"
    r"welcome to|you(?:'re| are) (?:chatting|speaking) with",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's line of a conversation."""

    role: Role
    text: str


def _labelled(text: str) -> tuple[list[Turn], int, int, bool]:
    """``text``'s turns, how many of its lines carried a speaker label and how many did not, and whether
    every label was a bare role (``客户：``, ``customer:``, no name after it).

    A line without a label continues the turn before it; a line that is only a timestamp is
    skipped.
    """
    turns: list[Turn] = []
    labelled = unlabelled = 0
    bare = True
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is not None:
            labelled += 1
            bare = bare and match["name"] is None
            role: Role = "agent" if match["label"].lower() in _AGENT else "customer"
            turns.append(Turn(role, match["text"].strip()))
            continue
        if not line.strip() or _ONLY_STAMP.match(line):
            continue
        unlabelled += 1
        if turns:
            last = turns[-1]
            turns[-1] = Turn(last.role, f"{last.text} {line.strip()}".strip())
        else:
            turns.append(Turn("customer", line.strip()))
    return turns, labelled, unlabelled, bare


def _unlabelled(text: str) -> list[Turn] | None:
    """The lines of an unlabelled paste as turns (boilerplate lines as the agent's), when one is chat."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _ONLY_STAMP.match(line)]
    if len(lines) < 2:
        return None
    turns = [Turn("agent" if _BOILERPLATE.search(line) else "customer", line) for line in lines]
    chatty = any(t.role == "agent" or is_small_talk(t.text) for t in turns)
    return turns if chatty else None


def parse_turns(text: str) -> list[Turn] | None:
    """``text`` as turns when it reads as a chat, else ``None``.

    A chat is text with at least two lines carrying speaker labels, or one line with a bare
    role label alone (one turn sent as ``messages``; "客户来电很激动：…" is an agent's note,
    not a turn), or several unlabelled lines of which one is small talk or agent boilerplate.
    """
    turns, labelled, unlabelled, bare = _labelled(text)
    if labelled >= 2 or (labelled == 1 and unlabelled == 0 and bare):
        return turns
    return _unlabelled(text) if labelled == 0 else None


def is_small_talk(text: str) -> bool:
    """Whether ``text`` holds nothing but greetings, thanks and acknowledgements."""
    return _SMALL_TALK.fullmatch(text) is not None


def without_opening(text: str) -> str:
    """``text`` without the pleasantries it opens with ("您好，请问…" → "请问…"); unchanged if nothing else is left."""
    rest = _OPENING.sub("", text, count=1)
    return rest if rest.strip() else text


def focus(turns: Sequence[Turn]) -> str:
    """The search text of a conversation: the customer's substantive turns, oldest first.

    The latest one and the :data:`CONTEXT_TURNS` before it. Falls back to every turn's text
    when the customer said nothing but small talk.
    """
    asked = [without_opening(t.text) for t in turns if t.role == "customer" and t.text and not is_small_talk(t.text)]
    if not asked:
        return "\n".join(t.text for t in turns if t.text)
    return "\n".join(asked[-1 - CONTEXT_TURNS :])


def search_text(query: str) -> str:
    """What to search for ``query``: its conversation's :func:`focus` when it is one, else ``query``."""
    turns = parse_turns(query)
    return query if turns is None else focus(turns)


def render(turns: Iterable[Turn]) -> str:
    """Turns as labelled lines (``customer: …`` / ``agent: …``), the form :func:`parse_turns` reads."""
    return "\n".join(f"{t.role}: {t.text}" for t in turns)
