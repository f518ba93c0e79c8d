"""Each (ticket, article) pair's last link or unlink event, kept as link events are written.

The link rate asks, of every ticket closed in the month, whether one of its articles is still linked:
the last link or unlink event of each (ticket, article) over all time (a ticket closed in the range
keeps the links made before it, ``ticket_sql.event_range``). Ranking a month's link events per pair
for that cost ~0.3 s per report; here each pair has one row (:class:`~service.usage.models.TicketLink`),
upserted in the transaction that stores the event, replaced only by a later event (time, then row
id, as ``tickets.net_links`` orders them): retried, late and concurrent writes end in the same row.
Migration 0007 builds the rows of the events already stored.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.usage.models import LINK_TYPES, TicketLink, UsageEvent


def linked(ticket_id: Any) -> sa.ColumnElement[bool]:
    """Whether the ticket has an article linked now (its net links over all time are not empty)."""
    return sa.exists().where(col(TicketLink.ticket_id) == ticket_id, col(TicketLink.linked) == sa.true())


@functools.cache
def _upsert(dialect: str) -> Any:
    table: sa.Table = getattr(TicketLink, "__table__")  # noqa: B009 - untyped on SQLModel tables
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    new = insert.excluded
    later = sa.or_(
        new.occurred_at > table.c.occurred_at,
        sa.and_(new.occurred_at == table.c.occurred_at, new.event_row_id > table.c.event_row_id),
    )
    changes = {"occurred_at": new.occurred_at, "event_row_id": new.event_row_id, "linked": new.linked}
    return insert.on_conflict_do_update(index_elements=["ticket_id", "article_id"], set_=changes, where=later)


def record(*, session: Session, events: Sequence[UsageEvent]) -> None:
    """Keep the last link or unlink of each pair among newly stored ``events`` (stored rows, with ids)."""
    last: dict[tuple[str, str], UsageEvent] = {}
    for e in events:
        if e.type in LINK_TYPES and e.ticket_id:
            key = (e.ticket_id, e.article_id)
            if key not in last or (e.occurred_at, e.id or 0) > (last[key].occurred_at, last[key].id or 0):
                last[key] = e
    if last:
        rows = [  # in key order: one lock order across transactions
            {"ticket_id": t, "article_id": a, "occurred_at": e.occurred_at, "event_row_id": e.id}
            | {"linked": e.type == "linked"}
            for (t, a), e in sorted(last.items())
        ]
        session.connection().execute(_upsert(session.get_bind().dialect.name), rows)


BACKFILL = (
    "INSERT INTO usage_ticket_links (ticket_id, article_id, occurred_at, event_row_id, linked) "
    "SELECT ticket_id, article_id, occurred_at, id, type = 'linked' FROM ("
    "SELECT ticket_id, article_id, occurred_at, id, type, row_number() OVER "
    "(PARTITION BY ticket_id, article_id ORDER BY occurred_at DESC, id DESC) AS position FROM usage_events "
    "WHERE type IN ('linked', 'unlinked') AND ticket_id IS NOT NULL AND ticket_id <> '') AS ranked "
    "WHERE position = 1"
)


def rebuild(connection: sa.Connection) -> None:
    """Rebuild the rows from the stored events (for events loaded around the write path)."""
    connection.execute(sa.delete(TicketLink))
    connection.exec_driver_sql(BACKFILL)
