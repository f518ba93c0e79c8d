"""Request and response models of the usage API. Identifiers are length- and character-checked here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints
from pydantic_core import PydanticCustomError

from indexer.article import GAP_ID_RE
from service.db import utcnow
from service.fields import (
    CLEAN_LINE,
    CLEAN_TEXT,
    NO_CONTROL,
    NO_CONTROL_SCHEMA,
    NON_BLANK_LINE,
    NON_BLANK_TEXT,
    NOT_BLANK,
    WHOLE,
)
from service.usage.periods import Period, as_utc

EventType = Literal[
    "shown",
    "opened",
    "copied",
    "inserted",
    "linked",
    "unlinked",
    "dismissed",
    "helpful",
    "not_helpful",
    "flagged",
    "gap_reported",
]
OutcomeStatus = Literal["resolved", "reopened", "closed"]
Complexity = Literal["L1", "L2", "L3"]
FlagStatus = Literal["open", "resolved"]

MAX_COMMENT = 1000
MAX_BATCH = 100
# Ticket systems use numbers, prefixes and UUIDs; anything else (spaces, quotes, slashes) is a client bug.
AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:\-]{0,63}")
AgentId = Annotated[str, StringConstraints(pattern=f"^{AGENT_ID.pattern}$")]
TicketId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.#:\-]{0,127}$")]
ArticleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")]
EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NON_BLANK_LINE, NOT_BLANK]
Comment = Annotated[str, StringConstraints(max_length=MAX_COMMENT), CLEAN_TEXT]


def _not_future(value: datetime | None) -> datetime | None:
    """Reject naive times (ambiguous) and times in the future (clock bugs would skew every report)."""
    if value is None:
        return value
    if value.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2026-12-01T10:00:00+08:00")
    if value > utcnow():  # its own error type: the one rule here a schema cannot state (it moves with the clock)
        raise PydanticCustomError("future_time", "must not be in the future")
    return value


PastTime = Annotated[datetime, AfterValidator(_not_future)]
# SQLite hands stored times back without an offset; they are UTC.
UtcTime = Annotated[datetime, AfterValidator(as_utc)]


class EventCreate(BaseModel):
    """One event on a suggestion."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(description="Chosen by the client (e.g. a UUID); a retry with it stores nothing new.")
    type: EventType
    article_id: ArticleId = Field(description="One of the suggestion's results.")
    comment: Comment | None = Field(None, description="Flag reason or note; PII is masked before storage.")
    occurred_at: PastTime | None = Field(None, description="When it happened (default: when received).")


class EventBatch(BaseModel):
    """Up to 100 events on one suggestion; each gets its own result."""

    model_config = ConfigDict(extra="forbid")

    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_BATCH, description="EventCreate objects, each validated on its own."
    )


class EventPublic(BaseModel):
    """A stored event (the first one's answer on a retry)."""

    event_id: str
    type: str
    suggestion_id: str | None
    ticket_id: str | None
    article_id: str
    rank: int | None
    agent_id: str
    comment: str | None
    occurred_at: UtcTime
    created_at: UtcTime


class EventResult(BaseModel):
    """One item of a batch answer: the stored event, or the error in the one error shape."""

    status: int
    event: EventPublic | None = None
    error: dict[str, Any] | None = None


class EventBatchPublic(BaseModel):
    """The batch answer, in request order."""

    results: list[EventResult]


class LinkCreate(BaseModel):
    """POST /v1/tickets/{ticket_id}/links."""

    model_config = ConfigDict(extra="forbid")

    article_id: ArticleId
    event_id: EventId | None = Field(None, description="Idempotency key (default: the Idempotency-Key header).")
    occurred_at: PastTime | None = None


class OutcomeCreate(BaseModel):
    """A ticket outcome in kbassist's own shape (a mapped webhook body becomes one of these)."""

    model_config = ConfigDict(extra="forbid")

    status: OutcomeStatus
    first_contact_resolution: bool | None = None
    csat: int | None = Field(None, ge=1, le=5)
    complexity: Complexity | None = None
    agent_ids: list[AgentId] = Field(default_factory=list, max_length=20)
    team: Label | None = None
    channel: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), NON_BLANK_LINE, NOT_BLANK]
        | None
    ) = None
    occurred_at: PastTime | None = None
    idempotency_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=128), NO_CONTROL, NO_CONTROL_SCHEMA] | None
    ) = None


class OutcomePublic(BaseModel):
    """A stored outcome."""

    id: int
    ticket_id: str
    status: str
    first_contact_resolution: bool | None
    csat: int | None
    complexity: str | None
    agent_ids: list[str]
    team: str | None
    channel: str | None
    occurred_at: UtcTime
    idempotency_key: str


class OutcomesPublic(BaseModel):
    """A ticket's outcome history, oldest first."""

    data: list[OutcomePublic]
    count: int


class AgentUpsert(BaseModel):
    """PUT /v1/agents/{agent_id}."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), CLEAN_LINE] | None = None
    team: Label | None = None
    active: StrictBool = True  # JSON true/false only: lax mode would read 0 or "no" as False


class AgentPublic(BaseModel):
    """An agent."""

    agent_id: str
    display_name: str | None
    team: str | None
    active: bool


class AgentsPublic(BaseModel):
    """GET /v1/agents."""

    data: list[AgentPublic]
    count: int


class FlagPublic(BaseModel):
    """A flag raised on an article."""

    id: int
    article_id: str
    agent_id: str
    comment: str | None
    status: str
    created_at: UtcTime
    resolved_by: str | None
    resolved_at: UtcTime | None
    resolution_note: str | None


class FlagsPublic(BaseModel):
    """GET /v1/flags."""

    data: list[FlagPublic]
    count: int


class FlagResolve(BaseModel):
    """POST /v1/flags/{id}/resolve."""

    model_config = ConfigDict(extra="forbid")

    note: Comment = Field(min_length=1)


GapStatus = Literal["open", "closed"]
GapId = Annotated[str, StringConstraints(pattern=f"^{GAP_ID_RE.pattern}$")]
MAX_GAP_EXAMPLES = 10


class GapCreate(BaseModel):
    """POST /v1/gaps: a group of the gaps report (its examples, size and closest article) and a title."""

    model_config = ConfigDict(extra="forbid")

    examples: list[
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT),
            NON_BLANK_TEXT,
            NOT_BLANK,
        ]
    ] = Field(min_length=1, max_length=MAX_GAP_EXAMPLES, description="The group's example queries.")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), CLEAN_LINE] | None = Field(
        default=None, description="The article to write (default: the first example)."
    )
    size: Annotated[StrictInt, Field(ge=1, le=1_000_000), WHOLE] | None = Field(
        default=None, description="Queries in the group (default: examples)."
    )
    closest_article: ArticleId | None = None


class GapPublic(BaseModel):
    """A recorded content gap."""

    id: str
    title: str
    examples: list[str]
    size: int
    closest_article: str | None
    recorded_by: str
    recorded_at: UtcTime
    status: str
    closed_by_article: str | None
    closed_by_version: str | None
    closed_at: UtcTime | None


class GapsPublic(BaseModel):
    """GET /v1/gaps."""

    data: list[GapPublic]
    count: int


class ReportPublic(BaseModel):
    """A report: what it measures (definition), and rows of plain values."""

    report: str
    definition: str
    period: Period | None
    time_zone: str
    columns: list[str]
    rows: list[list[Any]]
