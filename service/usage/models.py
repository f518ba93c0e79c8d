"""Usage tables. Every event and outcome is append-only; idempotency keys are unique columns.

The credit ledger reads these tables (never the reverse): ``usage_events`` rows are the
facts a citation or vote credit points at, ``ticket_outcomes`` (+ ``ticket_outcome_agents``)
the facts behind CSAT and complexity credits and their reversal on a reopen.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import JSONType, utcnow

USE_TYPES = ("copied", "inserted", "linked")
LINK_TYPES = ("linked", "unlinked")
# The event types the articles report counts per article: uses and votes (service.usage.article_rollup).
ARTICLE_COUNT_TYPES = (*USE_TYPES, "helpful", "not_helpful")
FUNNEL = ("shown", "opened", "copied_or_inserted", "linked", "solved")
# The funnel stage an event proves (an index into FUNNEL): a later stage implies the earlier ones,
# so a link made without an "opened" event still counts as opened; a vote or flag implies the article was opened.
# A gap report names the closest result as its article, which was shown but did not answer.
STAGE_OF = {
    "shown": 0,
    "dismissed": 0,
    "gap_reported": 0,
    "helpful": 1,
    "not_helpful": 1,
    "flagged": 1,
    "opened": 1,
    "copied": 2,
    "inserted": 2,
    "linked": 3,
    "unlinked": 3,
}
OUTCOME_STATUSES = ("resolved", "reopened", "closed")
CLOSED = ("resolved", "closed")  # the statuses that close a ticket (service.usage.tickets)
COMPLEXITIES = ("L1", "L2", "L3")
FLAG_STATUSES = ("open", "resolved")
GAP_STATUSES = ("open", "closed")
TZ = sa.DateTime(timezone=True)


class Agent(SQLModel, table=True):
    """An agent as the HR/CRM export knows them; agents first seen in keys or events have no team."""

    __tablename__ = "agents"
    # A team report's lookup of each row's agent from the index alone (migration 0008).
    __table_args__ = (sa.Index("ix_agents_active_team", "agent_id", "active", "team"),)

    agent_id: str = Field(primary_key=True, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=64, index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class UsageEvent(SQLModel, table=True):
    """One thing an agent did with an article: on a suggestion, or on a ticket directly (links)."""

    __tablename__ = "usage_events"
    __table_args__ = (
        sa.Index("ix_usage_events_suggestion_type", "suggestion_id", "type", "occurred_at"),
        sa.Index("ix_usage_events_ticket", "ticket_id", "occurred_at"),
        sa.Index("ix_usage_events_article_type", "article_id", "type"),
        sa.Index("ix_usage_events_agent_occurred", "agent_id", "occurred_at"),
        # Covering indexes of the reports counted in SQL (migration 0005).
        sa.Index("ix_usage_events_type_time", "type", "occurred_at", "article_id", "agent_id"),
        sa.Index("ix_usage_events_pairs", "suggestion_id", "article_id", "type", "occurred_at", "ticket_id"),
        sa.Index("ix_usage_events_article_version", "article_id", "index_version", "type", "occurred_at"),
        sa.Index("ix_usage_events_type_agent", "type", "agent_id", "article_id", "occurred_at"),
        # The dashboard's probes (migration 0006): a ticket's links in time.
        sa.Index("ix_usage_events_type_ticket", "type", "ticket_id", "occurred_at", "article_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True, description="The client's idempotency key.")
    type: str = Field(max_length=16)
    suggestion_id: str | None = Field(default=None, max_length=32, foreign_key="suggestions.id")
    ticket_id: str | None = Field(default=None, max_length=128)
    article_id: str = Field(max_length=128)
    rank: int | None = Field(default=None, description="1-based rank of the article in the suggestion.")
    index_version: str | None = Field(default=None, max_length=64, description="The build the suggestion came from.")
    agent_id: str = Field(max_length=64)
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    comment: str | None = Field(default=None, sa_type=sa.Text, description="PII-masked.")
    occurred_at: datetime = Field(sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    payload_hash: str = Field(max_length=64, description="sha256 of the request; a reused key must match it.")


class PairHour(SQLModel, table=True):
    """The events of one (suggestion, article) pair in one UTC hour, summed as the funnel and adoption read them.

    Kept by ``service.usage.rollup`` in the transaction that stores the events (an upsert per pair and
    hour, so concurrent and retried writes meet in one row); a report over a range reads the whole
    hours inside it here and the events of any part-hour at its edges (none for a zone on whole hours).
    """

    __tablename__ = "usage_pair_hours"
    __table_args__ = (
        # The funnel's month of pairs read from an index alone; adoption's "used in the range" probe.
        sa.Index("ix_usage_pair_hours_hour", "hour", "suggestion_id", "article_id", "stage", "ticket_id"),
        sa.Index("ix_usage_pair_hours_used", "suggestion_id", "used", "hour"),
    )

    suggestion_id: str = Field(primary_key=True, max_length=32)
    article_id: str = Field(primary_key=True, max_length=128)
    hour: datetime = Field(primary_key=True, sa_type=TZ, description="The events' UTC hour (truncated).")
    stage: int = Field(description="The furthest funnel stage the pair's events in the hour prove (STAGE_OF).")
    ticket_id: str | None = Field(default=None, max_length=128, description="The greatest ticket id of those events.")
    used: bool = Field(description="Whether one of those events is a use (USE_TYPES).")


class Pair(SQLModel, table=True):
    """One (suggestion, article) pair over all its events: their first and last UTC hour, and the same sums.

    Kept with :class:`PairHour` (``service.usage.rollup``). A pair whose events all fall in one hour
    (most of them) is read from here alone; the few that span hours are summed from their hours.
    """

    __tablename__ = "usage_pairs"
    __table_args__ = (
        sa.Index("ix_usage_pairs_first_hour", "first_hour", "last_hour", "article_id", "stage", "ticket_id"),
        sa.Index(
            "ix_usage_pairs_spanning",
            "first_hour",
            "last_hour",
            sqlite_where=sa.text("first_hour <> last_hour"),
            postgresql_where=sa.text("first_hour <> last_hour"),
        ),
    )

    suggestion_id: str = Field(primary_key=True, max_length=32)
    article_id: str = Field(primary_key=True, max_length=128)
    first_hour: datetime = Field(sa_type=TZ)
    last_hour: datetime = Field(sa_type=TZ)
    stage: int
    ticket_id: str | None = Field(default=None, max_length=128)
    used: bool


class TicketLink(SQLModel, table=True):
    """A (ticket, article) pair's last link or unlink event: linked now or not (``tickets.net_links`` over all time).

    Kept by ``service.usage.ticket_links`` with each link write (an upsert that keeps the later event).
    """

    __tablename__ = "usage_ticket_links"
    # Migration 0008: a range's pairs whose last event is in it (ticket_links.net_links), and the link rate's
    # "has a link now" probe of a ticket read from an index alone.
    __table_args__ = (
        sa.Index("ix_usage_ticket_links_occurred", "occurred_at", "first_at", "ticket_id", "article_id", "linked"),
        sa.Index("ix_usage_ticket_links_linked", "ticket_id", "linked"),
    )

    ticket_id: str = Field(primary_key=True, max_length=128)
    article_id: str = Field(primary_key=True, max_length=128)
    occurred_at: datetime = Field(sa_type=TZ)
    event_row_id: int = Field(description="usage_events.id of the event: the later of two at one time wins.")
    linked: bool
    first_at: datetime | None = Field(
        default=None, sa_type=TZ, description="The pair's first link or unlink event's time (set by every write)."
    )


class SuggestionUse(SQLModel, table=True):
    """A used suggestion: its first and last use event, with the suggestion's own time, agent and channel.

    Kept by ``service.usage.suggestion_uses`` with each use written (an upsert of the earliest and
    latest): adoption counts the month's used suggestions from here instead of probing each suggestion.
    """

    __tablename__ = "usage_suggestion_uses"
    __table_args__ = (
        # Adoption's month of used suggestions from the index alone (the id for the rare probe of a spanning one).
        sa.Index(
            "ix_usage_suggestion_uses_created",
            "created_at",
            "first_use_at",
            "last_use_at",
            "agent_id",
            "channel",
            "suggestion_id",
        ),
    )

    suggestion_id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(sa_type=TZ, description="The suggestion's (copied: suggestions are not changed).")
    agent_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    first_use_at: datetime = Field(sa_type=TZ)
    last_use_at: datetime = Field(sa_type=TZ)


class ArticleHour(SQLModel, table=True):
    """One article's events of one counted type (ARTICLE_COUNT_TYPES) in one UTC hour: how many, and the latest.

    Kept by ``service.usage.article_rollup`` with each event written; the articles report sums the
    whole hours of its range here and reads the part-hours at its edges from the events.
    """

    __tablename__ = "usage_article_hours"
    __table_args__ = (sa.Index("ix_usage_article_hours_hour", "hour", "article_id", "type", "count", "last_at"),)

    article_id: str = Field(primary_key=True, max_length=128)
    type: str = Field(primary_key=True, max_length=16)
    hour: datetime = Field(primary_key=True, sa_type=TZ)
    count: int
    last_at: datetime = Field(sa_type=TZ)


class ArticleVersionHour(SQLModel, table=True):
    """An (article, index version) pair with at least one event in one UTC hour (the articles report's versions)."""

    __tablename__ = "usage_article_version_hours"
    __table_args__ = (sa.Index("ix_usage_article_version_hours_hour", "hour", "article_id", "index_version"),)

    article_id: str = Field(primary_key=True, max_length=128)
    index_version: str = Field(primary_key=True, max_length=64)
    hour: datetime = Field(primary_key=True, sa_type=TZ)


class TicketLatest(SQLModel, table=True):
    """A ticket's latest outcome (by time, then id) and the time of its first outcome.

    Kept by ``service.usage.ticket_latest`` with each outcome written (an upsert that keeps the later
    outcome and the earlier first time), so a report reads one row per ticket instead of ranking outcomes.
    """

    __tablename__ = "usage_ticket_latest"
    __table_args__ = (
        # The range's tickets read from the index alone (latest in the range, or after it with the first before).
        sa.Index(
            "ix_usage_ticket_latest_occurred",
            "occurred_at",
            "first_at",
            "status",
            "ticket_id",
            "outcome_id",
            "team",
            "channel",
        ),
    )

    ticket_id: str = Field(primary_key=True, max_length=128)
    outcome_id: int = Field(description="ticket_outcomes.id of the latest outcome.")
    status: str = Field(max_length=16)
    occurred_at: datetime = Field(sa_type=TZ, description="The latest outcome's time.")
    team: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    first_at: datetime = Field(sa_type=TZ, description="The ticket's first outcome's time.")


class Flag(SQLModel, table=True):
    """A problem an agent found in an article: open until an editor resolves it (flag it or fix it)."""

    __tablename__ = "usage_flags"
    __table_args__ = (sa.Index("ix_usage_flags_article_status", "article_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="usage_events.id", unique=True)
    article_id: str = Field(max_length=128)
    agent_id: str = Field(max_length=64)
    comment: str | None = Field(default=None, sa_type=sa.Text, description="PII-masked.")
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_type=TZ)
    resolution_note: str | None = Field(default=None, sa_type=sa.Text, description="PII-masked.")


class TicketOutcome(SQLModel, table=True):
    """One status change of a ticket as the ticket system reported it; a reopen is a new row."""

    __tablename__ = "ticket_outcomes"
    __table_args__ = (
        sa.Index("ix_ticket_outcomes_ticket_occurred", "ticket_id", "occurred_at"),
        sa.Index("ix_ticket_outcomes_status_occurred", "status", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    ticket_id: str = Field(max_length=128)
    status: str = Field(max_length=16)
    first_contact_resolution: bool | None = None
    csat: int | None = None
    complexity: str | None = Field(default=None, max_length=2)
    team: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = Field(sa_type=TZ)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    payload_hash: str = Field(max_length=64)


class TicketOutcomeAgent(SQLModel, table=True):
    """A handling agent of an outcome (a table, not a JSON list, so per-agent reports can join on it)."""

    __tablename__ = "ticket_outcome_agents"

    outcome_id: int = Field(foreign_key="ticket_outcomes.id", primary_key=True)
    agent_id: str = Field(max_length=64, primary_key=True, index=True)


class ArticleSeen(SQLModel, table=True):
    """When the service first served each article: reuse vs new compares it with the ticket's start."""

    __tablename__ = "articles_seen"

    article_id: str = Field(primary_key=True, max_length=128)
    first_seen_at: datetime = Field(sa_type=TZ)
    first_index_version: str = Field(max_length=64)


class ContentGap(SQLModel, table=True):
    """A content gap an editor recorded from the gaps report: open until a published article names and answers it.

    The id derives from the masked examples (``service.usage.gap_records.gap_id``), so recording one
    cluster twice finds the first row. Closing is the only change a row ever gets.
    """

    __tablename__ = "content_gaps"
    __table_args__ = (sa.Index("ix_content_gaps_status_recorded", "status", "recorded_at"),)

    id: str = Field(primary_key=True, max_length=32)
    title: str = Field(max_length=200, description="PII-masked.")
    examples: list[str] = Field(default_factory=list, sa_type=JSONType, description="PII-masked queries.")
    size: int = Field(description="Queries in the group when it was recorded.")
    closest_article: str | None = Field(default=None, max_length=128)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    status: str = Field(default="open", max_length=16)
    closed_by_article: str | None = Field(default=None, max_length=128)
    closed_by_version: str | None = Field(default=None, max_length=64, description="The content hash that closed it.")
    closed_at: datetime | None = Field(default=None, sa_type=TZ)
