"""Each used suggestion's first and last use, kept as use events are written: what adoption counts.

Adoption is the share of a range's suggestions with a copied, inserted or linked event in the range.
Probing each of a month's ~100,000 suggestions for such an event cost ~0.5 s of SQLite CPU; here a
used suggestion has one narrow row (:class:`~service.usage.models.SuggestionUse`) with its own time,
agent and channel copied beside its earliest and latest use, so the month's adopted suggestions are
one range scan of an index. A suggestion with a use in ``[since, until)`` has its first or last use
in the range, or uses on both sides of it: only those few are probed (:func:`used_in`).

Rows are upserted by :func:`record` in the transaction that stores the events, only for events the
insert stored, keeping the earliest and latest time (order-free, so retried, late and concurrent
writes end in the same row; PostgreSQL's writers of one row meet in ``ON CONFLICT DO UPDATE``'s row
lock). Migration 0008 builds the rows of the events already stored.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.suggestions.models import Suggestion
from service.usage import rollup
from service.usage.models import TZ, USE_TYPES, SuggestionUse, UsageEvent
from service.usage.periods import as_utc
from service.usage.ticket_sql import in_range

Bound = datetime | None


def used_in(since: Bound, until: Bound) -> sa.ColumnElement[bool]:
    """Whether the :class:`SuggestionUse` row's suggestion has a use in ``[since, until)``."""
    first, last = col(SuggestionUse.first_use_at), col(SuggestionUse.last_use_at)
    condition = sa.or_(in_range(first, since, until), in_range(last, since, until))
    if since is not None and until is not None:  # uses before and after the range: one in it, or none
        spans = sa.and_(first < since, last >= until, rollup.used(col(SuggestionUse.suggestion_id), since, until))
        condition = sa.or_(condition, spans)
    return condition


@functools.cache
def _upsert(dialect: str) -> Any:
    """Insert the suggestion's row from ``suggestions`` (one statement), or widen its first and last use."""
    table: sa.Table = getattr(SuggestionUse, "__table__")  # noqa: B009 - untyped on SQLModel tables
    source: sa.Table = getattr(Suggestion, "__table__")  # noqa: B009
    first, last = sa.bindparam("first_use_at", type_=TZ), sa.bindparam("last_use_at", type_=TZ)
    row = sa.select(source.c.id, source.c.created_at, source.c.agent_id, source.c.channel, first, last).where(
        source.c.id == sa.bindparam("suggestion_id")
    )  # a WHERE clause, as SQLite needs before ON CONFLICT after a SELECT
    columns = ["suggestion_id", "created_at", "agent_id", "channel", "first_use_at", "last_use_at"]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table).from_select(columns, row)
    new = insert.excluded
    greatest = sa.func.greatest if dialect == "postgresql" else sa.func.max  # SQLite's scalar max(a, b)
    least = sa.func.least if dialect == "postgresql" else sa.func.min
    changes = {
        "first_use_at": least(table.c.first_use_at, new.first_use_at),
        "last_use_at": greatest(table.c.last_use_at, new.last_use_at),
    }
    return insert.on_conflict_do_update(index_elements=["suggestion_id"], set_=changes)


def record(*, session: Session, events: Sequence[UsageEvent]) -> None:
    """Widen the used suggestions' rows by newly stored ``events``, in the caller's transaction (no commit)."""
    spans: dict[str, list[datetime]] = {}
    for e in events:
        if e.suggestion_id and e.type in USE_TYPES:
            at = as_utc(e.occurred_at)
            span = spans.setdefault(e.suggestion_id, [at, at])
            span[0], span[1] = min(span[0], at), max(span[1], at)
    if spans:
        rows = [  # in key order: one lock order across transactions
            {"suggestion_id": s, "first_use_at": first, "last_use_at": last}
            for s, (first, last) in sorted(spans.items())
        ]
        session.connection().execute(_upsert(session.get_bind().dialect.name), rows)


BACKFILL = (
    "INSERT INTO usage_suggestion_uses (suggestion_id, created_at, agent_id, channel, first_use_at, last_use_at) "
    "SELECT s.id, s.created_at, s.agent_id, s.channel, u.first_use_at, u.last_use_at FROM suggestions AS s "
    "JOIN (SELECT suggestion_id, min(occurred_at) AS first_use_at, max(occurred_at) AS last_use_at "
    f"FROM usage_events WHERE type IN ({', '.join(repr(t) for t in USE_TYPES)}) AND suggestion_id IS NOT NULL "
    "GROUP BY suggestion_id) AS u ON u.suggestion_id = s.id"
)


def rebuild(connection: sa.Connection) -> None:
    """Rebuild the rows from the stored events (for events loaded around the write path)."""
    connection.execute(sa.delete(SuggestionUse))
    connection.exec_driver_sql(BACKFILL)
