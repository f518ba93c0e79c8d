"""Per article and UTC hour: counted events (uses, votes) and the index versions served, kept on write.

The articles report (the dashboard's top, never-used and stale charts) counts each article's uses and
votes in the range, their latest time, and the index versions its events came from. Over a month's
million events that was 0.38 s of SQLite CPU for the counts and 0.30 s for the versions. Counts and a
maximum over a range are the sums and maximum of its hours', and a version was served in a range if it
was in one of its hours, so each (article, type, hour) keeps a count and the latest time
(:class:`~service.usage.models.ArticleHour`) and each (article, version, hour) a row
(:class:`~service.usage.models.ArticleVersionHour`); a report reads the whole hours of its range here
and the part-hours at its edges from the events (``rollup.split``), as the funnel's rollup does.

Rows are upserted by :func:`record` in the transaction that stores the events, only for events the
insert stored: a retried event id adds nothing, so a count is the number of stored events.
Concurrent writers of one row on PostgreSQL add in ``ON CONFLICT DO UPDATE``'s row lock. Migration
0008 builds the rows of the events already stored.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.usage import rollup
from service.usage.models import ARTICLE_COUNT_TYPES, ArticleHour, ArticleVersionHour, UsageEvent
from service.usage.periods import as_utc
from service.usage.ticket_sql import in_range

Bound = datetime | None


def counts(since: Bound, until: Bound, types: Sequence[str]) -> sa.Select[Any]:
    """Per (article, type) of ``types`` with events in the range: ``article_id, type, count, last``.

    ``types`` must be among :data:`ARTICLE_COUNT_TYPES` (the types the hours keep).
    """
    assert set(types) <= set(ARTICLE_COUNT_TYPES), types
    whole, edges = rollup.split(since, until)
    parts: list[Any] = []
    if whole is not None:
        parts.append(
            sa.select(
                col(ArticleHour.article_id), col(ArticleHour.type), col(ArticleHour.count), col(ArticleHour.last_at)
            ).where(col(ArticleHour.type).in_(types), in_range(col(ArticleHour.hour), *whole))
        )
    for low, high in edges:
        parts.append(
            sa.select(
                col(UsageEvent.article_id),
                col(UsageEvent.type),
                sa.func.count().label("count"),
                sa.func.max(col(UsageEvent.occurred_at)).label("last_at"),
            )
            .where(col(UsageEvent.type).in_(types), in_range(col(UsageEvent.occurred_at), low, high))
            .group_by(col(UsageEvent.article_id), col(UsageEvent.type))
        )
    union: Any = sa.union_all  # typed loosely, as in service.usage.rollup
    rows = (parts[0] if len(parts) == 1 else union(*parts)).subquery("article_rows")
    return sa.select(
        rows.c.article_id, rows.c.type, sa.func.sum(rows.c["count"]), sa.func.max(rows.c.last_at).label("last_at")
    ).group_by(rows.c.article_id, rows.c.type)


def versions(since: Bound, until: Bound) -> sa.Select[Any]:
    """The distinct (article, index version) pairs of the events in the range."""
    whole, edges = rollup.split(since, until)
    parts: list[Any] = []
    if whole is not None:
        parts.append(
            sa.select(col(ArticleVersionHour.article_id), col(ArticleVersionHour.index_version)).where(
                in_range(col(ArticleVersionHour.hour), *whole)
            )
        )
    for low, high in edges:
        parts.append(
            sa.select(col(UsageEvent.article_id), col(UsageEvent.index_version)).where(
                col(UsageEvent.index_version).is_not(None), in_range(col(UsageEvent.occurred_at), low, high)
            )
        )
    union: Any = sa.union  # distinct across the parts
    if len(parts) == 1:
        return parts[0].distinct()  # type: ignore[no-any-return]
    return union(*parts)  # type: ignore[no-any-return]


@functools.cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    """The upserts of :class:`ArticleHour` (add the count, keep the later time) and :class:`ArticleVersionHour`."""
    module = postgresql if dialect == "postgresql" else sqlite
    hours: sa.Table = getattr(ArticleHour, "__table__")  # noqa: B009 - untyped on SQLModel tables
    insert = module.insert(hours)
    greatest = sa.func.greatest if dialect == "postgresql" else sa.func.max  # SQLite's scalar max(a, b)
    changes = {
        "count": hours.c["count"] + insert.excluded["count"],
        "last_at": greatest(hours.c.last_at, insert.excluded.last_at),
    }
    counted = insert.on_conflict_do_update(index_elements=["article_id", "type", "hour"], set_=changes)
    served = module.insert(getattr(ArticleVersionHour, "__table__")).on_conflict_do_nothing()  # noqa: B009
    return counted, served


def record(*, session: Session, events: Sequence[UsageEvent]) -> None:
    """Add newly stored ``events`` to the article hours, in the caller's transaction (does not commit)."""
    counted: dict[tuple[str, str, datetime], dict[str, Any]] = {}
    served: set[tuple[str, str, datetime]] = set()
    for e in events:
        hour = rollup.hour_of(e.occurred_at)
        if e.type in ARTICLE_COUNT_TYPES:
            at = as_utc(e.occurred_at)
            row = counted.setdefault(
                (e.article_id, e.type, hour),
                {"article_id": e.article_id, "type": e.type, "hour": hour, "count": 0, "last_at": at},
            )
            row["count"] += 1
            row["last_at"] = max(row["last_at"], at)
        if e.index_version is not None:
            served.add((e.article_id, e.index_version, hour))
    counted_upsert, served_upsert = _upserts(session.get_bind().dialect.name)
    connection = session.connection()
    if counted:  # in key order: one lock order across transactions
        connection.execute(counted_upsert, [counted[k] for k in sorted(counted)])
    if served:
        rows = [{"article_id": a, "index_version": v, "hour": h} for a, v, h in sorted(served)]
        connection.execute(served_upsert, rows)


def _backfill_sql(dialect: str) -> list[str]:
    hour = rollup.hour_sql(dialect)
    types = ", ".join(f"'{t}'" for t in ARTICLE_COUNT_TYPES)
    return [
        "INSERT INTO usage_article_hours (article_id, type, hour, count, last_at) "
        f"SELECT article_id, type, {hour}, count(*), max(occurred_at) FROM usage_events WHERE type IN ({types}) "
        "GROUP BY 1, 2, 3",
        "INSERT INTO usage_article_version_hours (article_id, index_version, hour) "
        f"SELECT DISTINCT article_id, index_version, {hour} FROM usage_events WHERE index_version IS NOT NULL",
    ]


def rebuild(connection: sa.Connection) -> None:
    """Rebuild the article hours from the stored events (for events loaded around the write path)."""
    connection.execute(sa.delete(ArticleHour))
    connection.execute(sa.delete(ArticleVersionHour))
    for statement in _backfill_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)
