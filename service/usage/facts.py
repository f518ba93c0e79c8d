"""The reads behind the reports: typed facts loaded in one query per table, filtered by time.

The reports themselves (``service.usage.analytics``) are pure functions of these facts, so
each definition is tested on hand-built data without a database.

Past the ~300-line guide because each fact type is the shape of one query below: a type and
its loader change together, and splitting them would put one concept in two files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.suggestions.models import Suggestion
from service.usage.models import (
    STAGE_OF,
    USE_TYPES,
    Agent,
    ArticleSeen,
    Flag,
    TicketOutcome,
    TicketOutcomeAgent,
    UsageEvent,
)
from service.usage.periods import as_utc
from service.usage.ticket_sql import event_range, in_range, tickets_in


@dataclass(frozen=True, slots=True)
class EventFact:
    """One usage event."""

    type: str
    article_id: str
    agent_id: str
    occurred_at: datetime
    suggestion_id: str | None = None
    ticket_id: str | None = None
    rank: int | None = None
    index_version: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeFact:
    """One ticket outcome with its handling agents."""

    ticket_id: str
    status: str
    occurred_at: datetime
    team: str | None = None
    channel: str | None = None
    agent_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SuggestionFact:
    """One suggestion (its query only where a report needs it)."""

    id: str
    created_at: datetime
    agent_id: str | None = None
    ticket_id: str | None = None
    answerable: bool = True
    channel: str | None = None
    query: str = ""


@dataclass(frozen=True, slots=True)
class PairFact:
    """A (suggestion, article) pair with the furthest funnel stage its events reached (``STAGE_OF``)."""

    suggestion_id: str
    article_id: str
    ticket_id: str | None
    stage: int


@dataclass(frozen=True, slots=True)
class CountFact:
    """How many events of one type an article had, and the latest (aggregated in SQL)."""

    article_id: str
    type: str
    count: int
    last: datetime


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """Per agent: suggestions asked, links, flags, distinct articles used; and distinct articles used by anyone."""

    asked: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    articles_used: dict[str, int] = field(default_factory=dict)
    articles_used_total: int = 0


@dataclass(frozen=True, slots=True)
class Needs:
    """What one report reads: loading only that keeps a month of events within the report budget."""

    event_types: tuple[str, ...] | None = ()
    outcomes: bool = False
    suggestions: bool = False
    pairs: bool = False
    versions: bool = False
    gap_queries: int = 0
    used_suggestions: bool = False
    article_counts: tuple[str, ...] = ()
    agent_counts: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """What the reports read, for one time range (each report loads only what it needs)."""

    events: Sequence[EventFact] = ()
    outcomes: Sequence[OutcomeFact] = ()
    suggestions: Sequence[SuggestionFact] = ()
    agents: dict[str, str | None] = field(default_factory=dict)
    articles_seen: dict[str, datetime] = field(default_factory=dict)
    open_flags: dict[str, list[str]] = field(default_factory=dict)
    pairs: Sequence[PairFact] = ()
    article_versions: dict[str, set[str]] = field(default_factory=dict)
    gap_queries: Sequence[str] = ()
    used_suggestions: frozenset[str] = frozenset()
    article_counts: Sequence[CountFact] = ()
    agent_counts: AgentCounts = field(default_factory=AgentCounts)


def load_events(
    *, session: Session, since: datetime | None, until: datetime | None, types: Sequence[str] | None = None
) -> list[EventFact]:
    """Events of ``types`` (None: all) that occurred in ``[since, until)``, in time order."""
    columns = ("type", "article_id", "agent_id", "occurred_at", "suggestion_id", "ticket_id", "rank", "index_version")
    # Plain column tuples through the connection: a month of events as ORM objects costs seconds.
    query = sa.select(*(col(getattr(UsageEvent, c)) for c in columns))
    if types is not None:
        query = query.where(col(UsageEvent.type).in_(types))
    query = query.where(event_range(since, until)).order_by(col(UsageEvent.occurred_at), col(UsageEvent.id))
    rows = session.connection().execute(query).all()
    return [EventFact(r[0], r[1], r[2], as_utc(r[3]), *r[4:]) for r in rows]


def load_outcomes(*, session: Session, since: datetime | None, until: datetime | None) -> list[OutcomeFact]:
    """Outcomes of the tickets that have one in ``[since, until)``: their whole history, so a later reopen counts."""
    columns = ("id", "ticket_id", "status", "occurred_at", "team", "channel")
    query = sa.select(*(col(getattr(TicketOutcome, c)) for c in columns), col(TicketOutcomeAgent.agent_id))
    query = query.outerjoin(TicketOutcomeAgent, col(TicketOutcomeAgent.outcome_id) == col(TicketOutcome.id))
    if since is not None or until is not None:
        query = query.where(col(TicketOutcome.ticket_id).in_(tickets_in(since, until)))
    query = query.order_by(col(TicketOutcome.occurred_at), col(TicketOutcome.id))
    rows: dict[int, tuple[Any, ...]] = {}
    agents: dict[int, list[str]] = defaultdict(list)
    for outcome_id, *fields, agent_id in session.connection().execute(query):
        rows.setdefault(outcome_id, tuple(fields))
        if agent_id is not None:
            agents[outcome_id].append(agent_id)
    return [
        OutcomeFact(ticket, status, as_utc(at), team, channel, tuple(sorted(agents[i])))
        for i, (ticket, status, at, team, channel) in rows.items()
    ]


def load_suggestions(
    *, session: Session, since: datetime | None, until: datetime | None, with_query: bool = False
) -> list[SuggestionFact]:
    """Suggestions created in ``[since, until)``."""
    columns = ("id", "created_at", "agent_id", "ticket_id", "answerable", "channel", "query" if with_query else "id")
    query = sa.select(*(col(getattr(Suggestion, c)) for c in columns))
    if since is not None:
        query = query.where(col(Suggestion.created_at) >= since)
    if until is not None:
        query = query.where(col(Suggestion.created_at) < until)
    rows = session.connection().execute(query.order_by(col(Suggestion.created_at))).all()
    return [SuggestionFact(r[0], as_utc(r[1]), r[2], r[3], r[4], r[5], r[6] if with_query else "") for r in rows]


def load_pairs(*, session: Session, since: datetime | None, until: datetime | None) -> list[PairFact]:
    """Per (suggestion, article): its ticket and the furthest funnel stage reached, aggregated in SQL."""
    stage = sa.case(STAGE_OF, value=col(UsageEvent.type), else_=0)
    query = (
        sa.select(
            col(UsageEvent.suggestion_id),
            col(UsageEvent.article_id),
            sa.func.max(UsageEvent.ticket_id),
            sa.func.max(stage),
        )
        .where(col(UsageEvent.suggestion_id).is_not(None), in_range(col(UsageEvent.occurred_at), since, until))
        .group_by(col(UsageEvent.suggestion_id), col(UsageEvent.article_id))
    )
    return [PairFact(r[0], r[1], r[2], int(r[3])) for r in session.connection().execute(query)]


def load_article_versions(*, session: Session, since: datetime | None, until: datetime | None) -> dict[str, set[str]]:
    """The index versions each article was served from (in suggestions that got an event)."""
    query = (
        sa.select(col(UsageEvent.article_id), col(UsageEvent.index_version))
        .where(col(UsageEvent.index_version).is_not(None), in_range(col(UsageEvent.occurred_at), since, until))
        .distinct()
    )
    versions: dict[str, set[str]] = defaultdict(set)
    for article_id, version in session.connection().execute(query):
        versions[article_id].add(str(version))
    return dict(versions)


def load_used_suggestions(*, session: Session, since: datetime | None, until: datetime | None) -> frozenset[str]:
    """Suggestions with at least one copied, inserted or linked result."""
    query = (
        sa.select(col(UsageEvent.suggestion_id))
        .where(col(UsageEvent.type).in_(USE_TYPES), in_range(col(UsageEvent.occurred_at), since, until))
        .distinct()
    )
    return frozenset(row[0] for row in session.connection().execute(query) if row[0] is not None)


def load_article_counts(
    *, session: Session, since: datetime | None, until: datetime | None, types: Sequence[str]
) -> list[CountFact]:
    """Events per (article, type) of ``types``, with the latest time."""
    query = (
        sa.select(
            col(UsageEvent.article_id), col(UsageEvent.type), sa.func.count(), sa.func.max(UsageEvent.occurred_at)
        )
        .where(col(UsageEvent.type).in_(types), in_range(col(UsageEvent.occurred_at), since, until))
        .group_by(col(UsageEvent.article_id), col(UsageEvent.type))
    )
    return [CountFact(a, t, int(n), as_utc(last)) for a, t, n, last in session.connection().execute(query)]


def load_agent_counts(*, session: Session, since: datetime | None, until: datetime | None) -> AgentCounts:
    """What each agent did in ``[since, until)``, counted in SQL."""
    conn = session.connection()
    events = in_range(col(UsageEvent.occurred_at), since, until)
    agent, suggestion_agent = col(UsageEvent.agent_id), col(Suggestion.agent_id)
    asked_query = sa.select(suggestion_agent, sa.func.count()).where(
        suggestion_agent.is_not(None), in_range(col(Suggestion.created_at), since, until)
    )
    asked = {str(a): int(n) for a, n in conn.execute(asked_query.group_by(suggestion_agent))}
    by_type: dict[str, dict[str, int]] = {"linked": {}, "flagged": {}}
    typed = sa.select(agent, col(UsageEvent.type), sa.func.count()).where(col(UsageEvent.type).in_(by_type), events)
    for agent_id, kind, n in conn.execute(typed.group_by(agent, col(UsageEvent.type))):
        by_type[kind][agent_id] = int(n)
    used = sa.func.count(sa.distinct(col(UsageEvent.article_id)))
    in_use = sa.and_(col(UsageEvent.type).in_(USE_TYPES), events)
    per_agent = {a: int(n) for a, n in conn.execute(sa.select(agent, used).where(in_use).group_by(agent))}
    total = conn.execute(sa.select(used).where(in_use)).scalar_one()
    return AgentCounts(asked, by_type["linked"], by_type["flagged"], per_agent, int(total))


def load_gap_queries(*, session: Session, since: datetime | None, until: datetime | None, limit: int) -> list[str]:
    """The newest ``limit`` kept masked queries not answerable, reported as a gap, or shown and never used."""
    # OFFSET 0 keeps each EXISTS a probe of the suggestion's events: PostgreSQL otherwise hashed every shown and
    # used event of all time (730,000 rows, 0.5 s) to answer for the ~6,000 newest suggestions it reads.
    event = sa.select(col(UsageEvent.id)).where(col(UsageEvent.suggestion_id) == col(Suggestion.id)).offset(0)
    shown = sa.exists(event.where(col(UsageEvent.type) == "shown"))
    used = sa.exists(event.where(col(UsageEvent.type).in_(USE_TYPES)))
    reported = sa.exists(event.where(col(UsageEvent.type) == "gap_reported"))
    query = (
        sa.select(col(Suggestion.query))
        .where(
            col(Suggestion.query) != "",
            in_range(col(Suggestion.created_at), since, until),
            sa.or_(col(Suggestion.answerable).is_(False), reported, sa.and_(shown, sa.not_(used))),
        )
        .order_by(col(Suggestion.created_at).desc())
        .limit(limit)
    )
    return [row[0] for row in session.connection().execute(query)][::-1]


def load_facts(*, session: Session, since: datetime | None, until: datetime | None, needs: Needs) -> Facts:
    """The facts ``needs`` names for ``[since, until)``; agents, first-seen times and open flags always."""
    flags: dict[str, list[str]] = defaultdict(list)
    # Two columns, not Flag objects: a month's open flags as ORM rows took 0.2 s (bench/README.md).
    open_flags = sa.select(col(Flag.article_id), col(Flag.comment)).where(col(Flag.status) == "open")
    for article_id, comment in session.connection().execute(open_flags.order_by(col(Flag.id))):
        flags[article_id].append(comment or "")
    return Facts(
        events=load_events(session=session, since=since, until=until, types=needs.event_types)
        if needs.event_types != ()
        else [],
        outcomes=load_outcomes(session=session, since=since, until=until) if needs.outcomes else [],
        suggestions=load_suggestions(session=session, since=since, until=until) if needs.suggestions else [],
        agents={a.agent_id: a.team for a in session.exec(select(Agent).where(col(Agent.active)))},
        articles_seen={a.article_id: as_utc(a.first_seen_at) for a in session.exec(select(ArticleSeen))},
        open_flags=dict(flags),
        pairs=load_pairs(session=session, since=since, until=until) if needs.pairs else [],
        article_versions=load_article_versions(session=session, since=since, until=until) if needs.versions else {},
        gap_queries=load_gap_queries(session=session, since=since, until=until, limit=needs.gap_queries)
        if needs.gap_queries
        else [],
        used_suggestions=load_used_suggestions(session=session, since=since, until=until)
        if needs.used_suggestions
        else frozenset(),
        article_counts=load_article_counts(session=session, since=since, until=until, types=needs.article_counts)
        if needs.article_counts
        else [],
        agent_counts=load_agent_counts(session=session, since=since, until=until)
        if needs.agent_counts
        else AgentCounts(),
    )
