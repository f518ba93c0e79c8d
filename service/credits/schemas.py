"""Request and response models of the credits API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from service.fields import NON_BLANK_LINE, NOT_BLANK, NOT_ZERO, YEAR_RANGE, WholeNumber
from service.usage.periods import as_utc
from service.usage.schemas import AgentId, EventId

# A month from 1970 to 2999 (service.fields.YEAR_RANGE): year 0 or 9999-12 would overflow the date range.
Period = Annotated[str, StringConstraints(pattern=rf"^{YEAR_RANGE}-(0[1-9]|1[0-2])$")]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NON_BLANK_LINE, NOT_BLANK
]
Reward = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NON_BLANK_LINE, NOT_BLANK
]
UtcTime = Annotated[datetime, AfterValidator(as_utc)]


def _nonzero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be 0")
    return value


class EntryPublic(BaseModel):
    """One ledger entry."""

    id: int
    agent_id: str
    points: int
    rule_id: str
    rules_version: str
    reason: str
    article_id: str | None
    content_hash: str | None
    ticket_id: str | None
    event_id: int | None
    outcome_id: int | None
    flag_id: int | None
    reward: str | None
    actor: str | None
    reverses_id: int | None
    created_at: UtcTime


class EntriesPublic(BaseModel):
    """A page of entries, newest first, with the filter's total."""

    data: list[EntryPublic]
    count: int


class BalancePublic(BaseModel):
    """An agent's balance."""

    agent_id: str
    balance: int


class RecentEntry(BaseModel):
    """An entry as the sidebar shows it."""

    id: int
    points: int
    rule_id: str
    reason: str
    created_at: UtcTime


class MePublic(BaseModel):
    """The calling agent's balance, this month's points and latest entries (the sidebar's view)."""

    agent_id: str
    balance: int
    period: str = Field(description="The current month (YYYY-MM) in KB_USAGE_TIME_ZONE.")
    period_points: int
    recent: list[RecentEntry] = Field(description="The last 5 entries, newest first.")


class AdjustmentCreate(BaseModel):
    """A manual adjustment: whole points, not 0, with a reason."""

    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    points: Annotated[WholeNumber, AfterValidator(_nonzero), NOT_ZERO] = Field(ge=-1_000_000, le=1_000_000)
    reason: Reason
    idempotency_key: EventId | None = Field(None, description="A retry with it writes nothing new.")


class RedemptionCreate(BaseModel):
    """A withdrawal of points for a named reward."""

    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    points: WholeNumber = Field(gt=0, le=1_000_000)
    reward: Reward
    idempotency_key: EventId = Field(description="Required: a retry with it writes nothing new.")


class EntryResult(BaseModel):
    """A written entry (the first one on a retry) and the agent's balance after it."""

    entry: EntryPublic
    balance: int


class LeaderRow(BaseModel):
    """One agent on the leaderboard."""

    rank: int
    agent_id: str
    team: str | None
    points: int


class LeaderboardPublic(BaseModel):
    """Agents by points earned in a month (redemptions not subtracted)."""

    period: str
    team: str | None
    data: list[LeaderRow]


class SettledPublic(BaseModel):
    """What a settle run looked at and wrote."""

    tickets: int
    votes: int
    flags: int
    entries: int
