"""Each (ticket, article) pair's last link or unlink event, kept as link events are written.

The link rate asks, of every ticket closed in the month, whether one of its articles is still linked:
the last link or unlink event of each (ticket, article) over all time (a ticket closed in the range
keeps the links made before it, ``ticket_sql.event_range``). Ranking a month's link events per pair
for that cost ~0.3 s per report; here each pair has one row (:class:`~service.usage.models.TicketLink`),
upserted in the transaction that stores the event, replaced only by a later event (time, then row
id, as ``tickets.net_links`` orders them), with the pair's first event's time kept beside it (the
earlier one; migration 0008): retried, late and concurrent writes end in the same row. Migration 0007
builds the rows of the events already stored, 0008 their first times.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.usage.models import LINK_TYPES, TicketLink, UsageEvent
from service.usage.ticket_sql import in_range, tickets_in

LAST = ("occurred_at", "event_row_id", "linked")  # the last event's columns; first_at is the earliest event's


def linked(ticket_id: Any) -> sa.ColumnElement[bool]:
    """Whether the ticket has an article linked now (its net links over all time are not empty)."""
    return sa.exists().where(col(TicketLink.ticket_id) == ticket_id, col(TicketLink.linked) == sa.true())


def net_links(since: datetime | None, until: datetime | None) -> sa.Subquery:
    """``tickets.net_links`` of the range's link events, from the kept rows: (ticket, article) pairs whose last link
    event of the range is a link (the range's link events: those in it, and every one of a ticket with an outcome
    in it, ``ticket_sql.event_range``).

    A pair's kept row is its last event of all time: the range's last when the ticket has an outcome in
    the range (all its events count) or when the row's event is in the range; a pair whose row is after
    the range, on a ticket without an outcome in it, is ranked from its events in the range (few: none
    for the current month). No window over the month's link events (~0.15 s of SQLite CPU).
    """
    t = TicketLink
    pair = (col(t.ticket_id), col(t.article_id))
    if since is None and until is None:
        return sa.select(*pair).where(col(t.linked) == sa.true()).subquery("links")
    members = tickets_in(since, until)
    closed_in = sa.select(*pair).where(col(t.linked) == sa.true(), col(t.ticket_id).in_(members))
    last_in = sa.select(*pair).where(
        col(t.linked) == sa.true(), in_range(col(t.occurred_at), since, until), col(t.ticket_id).not_in(members)
    )
    parts: list[Any] = [closed_in, last_in]
    if until is not None:  # pairs with events in the range (the first before its end) and a later last one
        later = sa.select(*pair).where(
            col(t.occurred_at) >= until, col(t.first_at) < until, col(t.ticket_id).not_in(members)
        )
        order = (col(UsageEvent.occurred_at).desc(), col(UsageEvent.id).desc())
        keys = (col(UsageEvent.ticket_id), col(UsageEvent.article_id))
        position = sa.func.row_number().over(partition_by=keys, order_by=order)
        ranked = (
            sa.select(*keys, col(UsageEvent.type), position.label("pos"))
            .where(
                col(UsageEvent.type).in_(LINK_TYPES),
                in_range(col(UsageEvent.occurred_at), since, until),
                sa.tuple_(*keys).in_(later),
            )
            .subquery("ranked_later")
        )
        parts.append(
            sa.select(ranked.c.ticket_id, ranked.c.article_id).where(ranked.c.pos == 1, ranked.c.type == "linked")
        )
    union: Any = sa.union_all  # typed loosely, as in service.usage.rollup
    return union(*parts).subquery("links")  # type: ignore[no-any-return]


@functools.cache
def _upsert(dialect: str) -> Any:
    table: sa.Table = getattr(TicketLink, "__table__")  # noqa: B009 - untyped on SQLModel tables
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    new = insert.excluded
    later = sa.or_(
        new.occurred_at > table.c.occurred_at,
        sa.and_(new.occurred_at == table.c.occurred_at, new.event_row_id > table.c.event_row_id),
    )
    changes: dict[str, Any] = {name: sa.case((later, new[name]), else_=table.c[name]) for name in LAST}
    least = sa.func.least if dialect == "postgresql" else sa.func.min  # SQLite's scalar min(a, b)
    changes["first_at"] = least(sa.func.coalesce(table.c.first_at, new.first_at), new.first_at)
    return insert.on_conflict_do_update(index_elements=["ticket_id", "article_id"], set_=changes)


def record(*, session: Session, events: Sequence[UsageEvent]) -> None:
    """Keep the last link or unlink of each pair among newly stored ``events`` (stored rows, with ids)."""
    last: dict[tuple[str, str], UsageEvent] = {}
    first: dict[tuple[str, str], datetime] = {}
    for e in events:
        if e.type in LINK_TYPES and e.ticket_id:
            key = (e.ticket_id, e.article_id)
            if key not in last or (e.occurred_at, e.id or 0) > (last[key].occurred_at, last[key].id or 0):
                last[key] = e
            first[key] = min(first.get(key, e.occurred_at), e.occurred_at)
    if last:
        rows = [  # in key order: one lock order across transactions
            {"ticket_id": t, "article_id": a, "occurred_at": e.occurred_at, "event_row_id": e.id}
            | {"linked": e.type == "linked", "first_at": first[(t, a)]}
            for (t, a), e in sorted(last.items())
        ]
        session.connection().execute(_upsert(session.get_bind().dialect.name), rows)


BACKFILL = (
    "INSERT INTO usage_ticket_links (ticket_id, article_id, occurred_at, event_row_id, linked, first_at) "
    "SELECT ticket_id, article_id, occurred_at, id, type = 'linked', first_at FROM ("
    "SELECT ticket_id, article_id, occurred_at, id, type, "
    "min(occurred_at) OVER (PARTITION BY ticket_id, article_id) AS first_at, row_number() OVER "
    "(PARTITION BY ticket_id, article_id ORDER BY occurred_at DESC, id DESC) AS position FROM usage_events "
    "WHERE type IN ('linked', 'unlinked') AND ticket_id IS NOT NULL AND ticket_id <> '') AS ranked "
    "WHERE position = 1"
)


def rebuild(connection: sa.Connection) -> None:
    """Rebuild the rows from the stored events (for events loaded around the write path)."""
    connection.execute(sa.delete(TicketLink))
    connection.exec_driver_sql(BACKFILL)
