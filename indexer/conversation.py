"""A chat excerpt, pasted or sent as turns: what the customer asks is what gets searched.

Agents paste whole chats into the sidebar: greetings, the agent's own lines ("请提供订单号",
"您可以用支付宝或微信支付"), then the ask in the customer's latest turn. Embedded as one text,
the agent's words pull the results toward whatever they mention. A text whose lines start
with speaker labels (``客户：`` / ``坐席：``, ``Customer:`` / ``Agent:`` and their usual
variants) is read as turns; the search text is the customer's turns without small talk, in
order. The earlier turns stay: the latest often leans on them ("我在你们这买的手表" →
"拆开戴了两天不喜欢，还能退吗"). Weighting the latest turn more (repeated once or twice) or
searching it alone ranked worse on the golden set's multi-turn excerpts (eval/RESULTS.md).
Text without speaker labels is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "agent"]

_CUSTOMER = ("客户", "顾客", "买家", "用户", "客人", "customer", "user", "buyer", "client")
_AGENT = ("坐席", "客服", "售后", "店员", "小二", "customer service", "agent", "staff", "support", "service")
# A label may carry a short name or number (客服小二, 买家1, Agent Lily); agent labels are tried
# first so "customer service" is not read as "customer".
_LABEL = re.compile(
    r"^\s*(?P<label>" + "|".join(_AGENT + _CUSTOMER) + r")[\s\-_·]?[^\s:：]{0,8}\s*[:：]\s*(?P<text>.*)$",
    re.IGNORECASE,
)
# A turn that is only pleasantries: greetings, "are you there", thanks, acknowledgements.
_SMALL_TALK = re.compile(
    r"(你好|您好|hello|hi|hey|在吗|在不在|有人吗|请问|谢谢|多谢|感谢|好的|好|嗯|哦|ok|okay|thanks|thank you|亲|"
    r"good (?:morning|afternoon|evening)|早上好|下午好|晚上好|[\s\W_])*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's line of a conversation."""

    role: Role
    text: str


def parse_turns(text: str) -> list[Turn] | None:
    """``text`` as turns when at least two of its lines carry speaker labels, else ``None``.

    A line without a label continues the turn before it.
    """
    turns: list[Turn] = []
    labelled = 0
    for line in text.splitlines():
        match = _LABEL.match(line)
        if match is not None:
            labelled += 1
            role: Role = "agent" if match["label"].lower() in _AGENT else "customer"
            turns.append(Turn(role, match["text"].strip()))
        elif turns and line.strip():
            last = turns[-1]
            turns[-1] = Turn(last.role, f"{last.text} {line.strip()}".strip())
        elif line.strip():
            turns.append(Turn("customer", line.strip()))
    return turns if labelled >= 2 else None


def is_small_talk(text: str) -> bool:
    """Whether ``text`` holds nothing but greetings, thanks and acknowledgements."""
    return _SMALL_TALK.fullmatch(text) is not None


def focus(turns: Sequence[Turn]) -> str:
    """The search text of a conversation: the customer's substantive turns, in order.

    Falls back to every turn's text when the customer said nothing but small talk.
    """
    asked = [t.text for t in turns if t.role == "customer" and t.text and not is_small_talk(t.text)]
    return "\n".join(asked or [t.text for t in turns if t.text])


def search_text(query: str) -> str:
    """What to search for ``query``: its conversation's :func:`focus` when it is one, else ``query``."""
    turns = parse_turns(query)
    return query if turns is None else focus(turns)


def render(turns: Iterable[Turn]) -> str:
    """Turns as labelled lines (``customer: …`` / ``agent: …``), the form :func:`parse_turns` reads."""
    return "\n".join(f"{t.role}: {t.text}" for t in turns)
