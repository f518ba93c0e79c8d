"""Each ticket's latest outcome, kept as outcomes are written: the tickets the link rate and the funnel read.

Both reports take, of every ticket with an outcome in the range, its latest outcome of all time (by
time, then id): closed or not, its team, channel and period. Ranking a month's outcomes per ticket
for that cost 0.2-0.45 s of SQLite CPU per report. Here each ticket has one row
(:class:`~service.usage.models.TicketLatest`) with its latest outcome and its first outcome's time;
a ticket has an outcome in ``[since, until)`` when its latest is in it, or when its latest is after
the range and its first before the range's end and one of its outcomes is in it (probed, few).

The row is upserted by :func:`record` in the transaction that stores the outcome, only when the
insert stored it (a retried key changes nothing); the later outcome and the earlier first time win
whatever order outcomes arrive in, and PostgreSQL's concurrent writers of one ticket meet in
``ON CONFLICT DO UPDATE``'s row lock. Migration 0008 builds the rows of the outcomes already stored.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.usage.models import TicketLatest, TicketOutcome
from service.usage.periods import as_utc
from service.usage.ticket_sql import in_range

Bound = datetime | None
LATEST = ("status", "occurred_at", "team", "channel")


def latest_in(since: Bound, until: Bound) -> sa.Subquery:
    """The latest outcome of each ticket with an outcome in the range: ``id`` (the outcome's), ``ticket_id``,
    ``status``, ``occurred_at``, ``team``, ``channel`` (what the link rate and ``ticket_sql.solved_tickets`` read)."""
    t = TicketLatest
    columns: tuple[Any, ...] = (
        col(t.outcome_id).label("id"),
        col(t.ticket_id),
        col(t.status),
        col(t.occurred_at),
        col(t.team),
        col(t.channel),
    )
    latest, first = col(t.occurred_at), col(t.first_at)
    if since is None:  # an outcome before the end: the first one is
        where: sa.ColumnElement[bool] = sa.true() if until is None else first < until
        return sa.select(*columns).where(where).subquery("latest")
    inside = sa.select(*columns).where(in_range(latest, since, until))
    if until is None:  # an outcome after the start: the latest one is
        return inside.subquery("latest")
    one_inside = sa.exists().where(
        col(TicketOutcome.ticket_id) == col(t.ticket_id), in_range(col(TicketOutcome.occurred_at), since, until)
    )
    around = sa.select(*columns).where(latest >= until, first < until, one_inside)
    union: Any = sa.union_all  # typed loosely, as in service.usage.rollup
    return union(inside, around).subquery("latest")  # type: ignore[no-any-return]


@functools.cache
def _upsert(dialect: str) -> Any:
    table: sa.Table = getattr(TicketLatest, "__table__")  # noqa: B009 - untyped on SQLModel tables
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    new = insert.excluded
    later = sa.or_(
        new.occurred_at > table.c.occurred_at,
        sa.and_(new.occurred_at == table.c.occurred_at, new.outcome_id > table.c.outcome_id),
    )
    least = sa.func.least if dialect == "postgresql" else sa.func.min  # SQLite's scalar min(a, b)
    changes: dict[str, Any] = {
        name: sa.case((later, new[name]), else_=table.c[name]) for name in (*LATEST, "outcome_id")
    }
    changes["first_at"] = least(table.c.first_at, new.first_at)
    return insert.on_conflict_do_update(index_elements=["ticket_id"], set_=changes)


def record(*, session: Session, outcome: TicketOutcome) -> None:
    """Keep ``outcome`` (newly stored, with its id) as its ticket's latest if it is, in the caller's transaction."""
    at = as_utc(outcome.occurred_at)
    row = {"ticket_id": outcome.ticket_id, "outcome_id": outcome.id, "first_at": at}
    row |= {"status": outcome.status, "occurred_at": at, "team": outcome.team, "channel": outcome.channel}
    session.connection().execute(_upsert(session.get_bind().dialect.name), [row])


BACKFILL = (
    "INSERT INTO usage_ticket_latest (ticket_id, outcome_id, status, occurred_at, team, channel, first_at) "
    "SELECT ticket_id, id, status, occurred_at, team, channel, first_at FROM ("
    "SELECT ticket_id, id, status, occurred_at, team, channel, "
    "min(occurred_at) OVER (PARTITION BY ticket_id) AS first_at, "
    "row_number() OVER (PARTITION BY ticket_id ORDER BY occurred_at DESC, id DESC) AS position "
    "FROM ticket_outcomes) AS ranked WHERE position = 1"
)


def rebuild(connection: sa.Connection) -> None:
    """Rebuild the rows from the stored outcomes (for outcomes loaded around the write path)."""
    connection.execute(sa.delete(TicketLatest))
    connection.exec_driver_sql(BACKFILL)
