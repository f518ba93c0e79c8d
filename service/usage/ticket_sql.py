"""The ticket definitions of ``service.usage.tickets`` as SQL, and which rows a report over a range reads.

``service.usage.aggregates`` builds its reports from these subqueries (and from the rows kept on write:
a ticket's latest outcome in ``ticket_latest``, its net links in ``ticket_links``); ``service.usage.facts``
loads the same rows for the Python definitions. Each helper names the Python function it mirrors.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from service.suggestions.models import Suggestion
from service.usage.models import CLOSED, LINK_TYPES, Agent, TicketOutcome, TicketOutcomeAgent, UsageEvent


def in_range(column: Any, since: datetime | None, until: datetime | None) -> sa.ColumnElement[bool]:
    """``since <= column < until``, either bound optional."""
    condition: sa.ColumnElement[bool] = sa.true()
    if since is not None:
        condition = sa.and_(condition, column >= since)
    if until is not None:
        condition = sa.and_(condition, column < until)
    return condition


def event_range(since: datetime | None, until: datetime | None) -> sa.ColumnElement[bool]:
    """The events a report over ``[since, until)`` reads.

    Those that occurred in it, and every link or unlink of a ticket with an outcome in it: a ticket
    closed in the range keeps the links made on it before the range started.
    """
    condition = in_range(col(UsageEvent.occurred_at), since, until)
    if since is None and until is None:
        return condition
    closed = col(UsageEvent.ticket_id).in_(tickets_in(since, until))
    return sa.or_(condition, sa.and_(col(UsageEvent.type).in_(LINK_TYPES), closed))


def tickets_in(since: datetime | None, until: datetime | None) -> SelectOfScalar[str]:
    """Ids of the tickets with an outcome in ``[since, until)``."""
    tickets = select(TicketOutcome.ticket_id)
    if since is not None:
        tickets = tickets.where(col(TicketOutcome.occurred_at) >= since)
    if until is not None:
        tickets = tickets.where(col(TicketOutcome.occurred_at) < until)
    return tickets.distinct()


def outcome_tickets(since: datetime | None, until: datetime | None) -> sa.ColumnElement[bool]:
    """Outcomes of the tickets with one in the range: their whole history, so a later reopen counts."""
    if since is None and until is None:
        return sa.true()
    return col(TicketOutcome.ticket_id).in_(tickets_in(since, until))


def within(later: Any, earlier: Any, days: int, dialect: str) -> sa.ColumnElement[bool]:
    """``later - earlier <= days`` to the microsecond.

    SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text: shifting the date part by whole days and keeping
    the time part is exact, where ``julianday`` arithmetic keeps milliseconds at best.
    """
    if dialect == "postgresql":
        bound = later - sa.literal(timedelta(days=days), sa.Interval())
    else:
        bound = sa.func.date(later, f"-{days} days", type_=sa.String).concat(sa.func.substr(later, 11))
    condition: sa.ColumnElement[bool] = earlier >= bound
    return condition


def solved_tickets(latest: sa.Subquery, window_days: int, dialect: str) -> sa.Subquery:
    """Tickets whose latest outcome closes them, with no reopen within the window of a close before it.

    ``latest``: the range's tickets with their latest outcome (``ticket_latest.latest_in``).
    """
    close, reopen = aliased(TicketOutcome), aliased(TicketOutcome)
    # The reopened tickets first, as one set: probing every ticket for a reopen scans all reopens per ticket.
    reopened_soon = (
        sa.select(col(reopen.ticket_id))
        .join(close, col(close.ticket_id) == col(reopen.ticket_id))
        .where(
            col(reopen.status) == "reopened",
            col(close.status).in_(CLOSED),
            sa.or_(
                col(close.occurred_at) < col(reopen.occurred_at),
                sa.and_(col(close.occurred_at) == col(reopen.occurred_at), col(close.id) < col(reopen.id)),
            ),
            within(col(reopen.occurred_at), col(close.occurred_at), window_days, dialect),
        )
    )
    query = sa.select(latest.c.ticket_id).where(latest.c.status.in_(CLOSED), latest.c.ticket_id.not_in(reopened_soon))
    return query.subquery("solved")


def first_team(outcome_id: Any) -> Any:
    """``first_teams`` for one outcome, as a correlated subquery (SQLite: agent ids compare by code point)."""
    return (
        sa.select(col(Agent.team))
        .select_from(TicketOutcomeAgent)
        .join(Agent, col(Agent.agent_id) == col(TicketOutcomeAgent.agent_id))
        .where(
            col(TicketOutcomeAgent.outcome_id) == outcome_id,
            col(Agent.active),
            col(Agent.team).is_not(None),
            col(Agent.team) != "",
        )
        .order_by(col(TicketOutcomeAgent.agent_id))
        .limit(1)
        .scalar_subquery()
    )


def first_teams(dialect: str) -> sa.Subquery:
    """Per outcome, the team of its first active handling agent who has one (``analytics._team_of``).

    First by agent id in code-point order, as Python sorts (PostgreSQL: ``COLLATE "C"``).
    """
    agent_id = col(TicketOutcomeAgent.agent_id)
    ordered = agent_id.collate("C") if dialect == "postgresql" else agent_id
    position = sa.func.row_number().over(partition_by=col(TicketOutcomeAgent.outcome_id), order_by=ordered)
    ranked = (
        sa.select(col(TicketOutcomeAgent.outcome_id), col(Agent.team), position.label("pos"))
        .join(Agent, col(Agent.agent_id) == agent_id)
        .where(col(Agent.active), col(Agent.team).is_not(None), col(Agent.team) != "")
        .subquery("ranked_teams")
    )
    return sa.select(ranked.c.outcome_id, ranked.c.team).where(ranked.c.pos == 1).subquery("first_teams")


def seen_before(ticket_id: Any, at: Any, since: datetime | None, until: datetime | None) -> sa.ColumnElement[bool]:
    """Whether the ticket was seen before ``at``: a link event, outcome or suggestion (``tickets.ticket_starts``).

    Three indexed EXISTS probes per row, rather than a join to per-ticket start times: SQLite scans
    a joined derived table once per row. A suggestion of the range is never before its start: no probe then.
    """
    # Each probe selects an indexed column: SQLite reads the table's rows for an EXISTS (SELECT * …), the index alone
    # for this (a third of reuse's time on a month).
    suggested: sa.ColumnElement[bool] = sa.exists(sa.select(col(Suggestion.ticket_id))).where(
        col(Suggestion.ticket_id) == ticket_id,
        col(Suggestion.created_at) < at,
        in_range(col(Suggestion.created_at), since, until),
    )
    if since is not None:
        suggested = sa.and_(at > since, suggested)
    return sa.or_(
        sa.exists(sa.select(col(UsageEvent.ticket_id))).where(
            col(UsageEvent.ticket_id) == ticket_id,
            col(UsageEvent.occurred_at) < at,
            col(UsageEvent.type).in_(LINK_TYPES),
            event_range(since, until),
        ),
        sa.exists(sa.select(col(TicketOutcome.ticket_id))).where(
            col(TicketOutcome.ticket_id) == ticket_id,
            col(TicketOutcome.occurred_at) < at,
            outcome_tickets(since, until),
        ),
        suggested,
    )


def ticket_starts(since: datetime | None, until: datetime | None) -> sa.Subquery:
    """Per ticket, the earliest time it was seen: a link event, outcome or suggestion (``tickets.ticket_starts``).

    The rows :func:`seen_before` probes, as one grouped set to join: PostgreSQL hashes it once where
    three probes per link cost ~1 s on a month.
    """
    union: Any = sa.union_all  # typed loosely, as in service.usage.rollup
    seen = union(
        sa.select(col(UsageEvent.ticket_id).label("ticket_id"), col(UsageEvent.occurred_at).label("at")).where(
            col(UsageEvent.type).in_(LINK_TYPES), event_range(since, until)
        ),
        sa.select(col(TicketOutcome.ticket_id), col(TicketOutcome.occurred_at)).where(outcome_tickets(since, until)),
        sa.select(col(Suggestion.ticket_id), col(Suggestion.created_at)).where(
            in_range(col(Suggestion.created_at), since, until)
        ),
    ).subquery("seen")
    return (
        sa.select(seen.c.ticket_id, sa.func.min(seen.c.at).label("start"))
        .where(seen.c.ticket_id.is_not(None))
        .group_by(seen.c.ticket_id)
        .subquery("starts")
    )
