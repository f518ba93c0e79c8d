"""The (suggestion, article, hour) rollup of events that the funnel and adoption reports read.

Both reports scanned every event of the range: the funnel grouped a month's million events into its
~300,000 (suggestion, article) pairs, adoption probed each suggestion's events for a use. Their
definitions only take maxima and "any" over a pair's events (the furthest stage, the greatest ticket
id, whether one is a use), and a maximum over a range is the maximum of the maxima of its parts. So
each pair keeps one row per UTC hour it had events in (:class:`~service.usage.models.PairHour`), and a
report over ``[since, until)`` reads the rows of the whole hours inside the range and the events of
the part-hours at its edges (none when the report's time zone is on whole hours, as a month's bounds
then are): the same figures, from ~3× fewer and narrower rows, whatever the order the events came in.

The rows are written by :func:`record` in the transaction that stores the events (a 2xx means both
are committed), only for events the insert stored (a retried event id adds nothing), as one upsert
that takes the maximum of the stored row and the new one: concurrent writers of one pair on
PostgreSQL meet in the row lock of ``ON CONFLICT DO UPDATE``, SQLite has one writer at a time.
Migration 0007 builds the rows of the events already stored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from service.usage import ticket_links
from service.usage.models import STAGE_OF, USE_TYPES, Pair, PairHour, UsageEvent
from service.usage.ticket_sql import in_range

HOUR = timedelta(hours=1)
Bound = datetime | None


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in (stored times are UTC; a naive one is read as UTC)."""
    return _utc(at).replace(minute=0, second=0, microsecond=0)


def split(since: Bound, until: Bound) -> tuple[tuple[Bound, Bound] | None, list[tuple[Bound, Bound]]]:
    """``[since, until)`` as the whole hours inside it (None: none) and the part-hours at its edges."""
    since, until = (None if at is None else _utc(at) for at in (since, until))
    low = None if since is None else hour_of(since) + (HOUR if hour_of(since) != since else timedelta(0))
    high = None if until is None else hour_of(until)
    if low is not None and high is not None and low >= high:
        return None, [(since, until)]
    edges: list[tuple[Bound, Bound]] = []
    if since is not None and low is not None and since < low:
        edges.append((since, low))
    if until is not None and high is not None and high < until:
        edges.append((high, until))
    return (low, high), edges


def _stage() -> Any:
    return sa.case(STAGE_OF, value=col(UsageEvent.type), else_=0)


def _grouped(parts: list[Any]) -> sa.Subquery:
    """``article_id``, greatest ``ticket_id`` and furthest ``stage`` per pair of the union of ``parts``."""
    union: Any = sa.union_all  # typed loosely: mypy 2.4 crashes expanding union_all's variadic Select types
    rows = (parts[0] if len(parts) == 1 else union(*parts)).subquery("pair_rows")
    return (
        sa.select(
            rows.c.article_id,
            sa.func.max(rows.c.ticket_id).label("ticket_id"),
            sa.func.max(rows.c.stage).label("stage"),
        )
        .group_by(rows.c.suggestion_id, rows.c.article_id)
        .subquery("pairs")
    )


def _hour_rows(low: Bound, high: Bound) -> Any:
    return sa.select(
        col(PairHour.suggestion_id), col(PairHour.article_id), col(PairHour.ticket_id), col(PairHour.stage)
    ).where(in_range(col(PairHour.hour), low, high))


def pairs(since: Bound, until: Bound) -> sa.Subquery:
    """Per (suggestion, article) with events in the range: ``article_id``, ``ticket_id`` (greatest), ``stage``.

    What ``service.usage.facts.load_pairs`` groups from the events. A range on whole hours reads a
    pair whose events share one hour from :class:`Pair` as it is, and groups only the hours of pairs
    spanning several (no GROUP BY of ~300,000 pairs: SQLite sorted them for 0.7 s); part-hours at the
    edges are grouped with the hours from their events.
    """
    whole, edges = split(since, until)
    if whole is not None and not edges:
        low, high = whole
        single = sa.select(col(Pair.article_id), col(Pair.ticket_id), col(Pair.stage)).where(
            col(Pair.first_hour) == col(Pair.last_hour), in_range(col(Pair.first_hour), low, high)
        )
        spanning = sa.select(col(Pair.suggestion_id), col(Pair.article_id)).where(
            col(Pair.first_hour) != col(Pair.last_hour)
        )  # the partial index ix_usage_pairs_spanning
        if high is not None:
            spanning = spanning.where(col(Pair.first_hour) < high)
        if low is not None:
            spanning = spanning.where(col(Pair.last_hour) >= low)
        # An IN list of the few spanning pairs, probed on the hours' key: as a join, SQLite (no statistics)
        # drove it from the month's hours instead.
        pair_key = sa.tuple_(col(PairHour.suggestion_id), col(PairHour.article_id))
        hours = _hour_rows(low, high).where(pair_key.in_(spanning))
        grouped = _grouped([hours])
        union: Any = sa.union_all
        both = union(single, sa.select(grouped.c.article_id, grouped.c.ticket_id, grouped.c.stage))
        return both.subquery("pairs")  # type: ignore[no-any-return]
    parts: list[Any] = []  # selects of (suggestion_id, article_id, ticket_id, stage)
    if whole is not None:
        parts.append(_hour_rows(*whole))
    for low, high in edges:
        parts.append(
            sa.select(
                col(UsageEvent.suggestion_id),
                col(UsageEvent.article_id),
                col(UsageEvent.ticket_id),
                _stage().label("stage"),
            ).where(col(UsageEvent.suggestion_id).is_not(None), in_range(col(UsageEvent.occurred_at), low, high))
        )
    return _grouped(parts)


def used(suggestion_id: Any, since: Bound, until: Bound) -> sa.ColumnElement[bool]:
    """Whether the suggestion has a copied, inserted or linked event in the range (adoption's "used")."""
    whole, edges = split(since, until)
    probes: list[sa.ColumnElement[bool]] = []
    if whole is not None:
        probes.append(
            sa.exists().where(
                col(PairHour.suggestion_id) == suggestion_id,
                col(PairHour.used) == sa.true(),
                in_range(col(PairHour.hour), *whole),
            )
        )
    for low, high in edges:
        probes.append(
            sa.exists().where(
                col(UsageEvent.suggestion_id) == suggestion_id,
                col(UsageEvent.type).in_(USE_TYPES),
                in_range(col(UsageEvent.occurred_at), low, high),
            )
        )
    return sa.or_(*probes)


def _rows(events: Iterable[UsageEvent]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The :class:`PairHour` and :class:`Pair` rows of ``events``, merged per key and ticket id.

    Stage, use and hours merge here; ticket ids are left to the upsert (the database's collation
    orders them as the reports' MAX does), so a key seen with two ticket ids gives two rows.
    """
    hours: dict[tuple[Any, ...], dict[str, Any]] = {}
    pairs: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in events:
        if e.suggestion_id is None:
            continue
        hour, stage, use = hour_of(e.occurred_at), STAGE_OF.get(e.type, 0), e.type in USE_TYPES
        keyed = {"suggestion_id": e.suggestion_id, "article_id": e.article_id, "ticket_id": e.ticket_id}
        row = hours.setdefault(
            (e.suggestion_id, e.article_id, hour, e.ticket_id), {**keyed, "hour": hour, "stage": 0, "used": False}
        )
        row["stage"], row["used"] = max(row["stage"], stage), row["used"] or use
        pair = pairs.setdefault(
            (e.suggestion_id, e.article_id, e.ticket_id),
            {**keyed, "first_hour": hour, "last_hour": hour, "stage": 0, "used": False},
        )
        pair["stage"], pair["used"] = max(pair["stage"], stage), pair["used"] or use
        pair["first_hour"], pair["last_hour"] = min(pair["first_hour"], hour), max(pair["last_hour"], hour)
    # In key order: concurrent transactions then lock shared rows in one order (no deadlock on PostgreSQL).
    return [hours[k] for k in sorted(hours, key=_order)], [pairs[k] for k in sorted(pairs, key=_order)]


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("" if part is None else part for part in key)


@functools.cache
def _upsert(dialect: str, spans: bool) -> Any:
    """The upsert of :class:`Pair` (``spans``) or :class:`PairHour` rows: the maximum of stored and new.

    Built once per dialect and executed with parameters (one row or many), so SQLAlchemy compiles it
    once: building it per write cost ~2.5 ms of CPU per event.
    """
    table: sa.Table = getattr(Pair if spans else PairHour, "__table__")  # noqa: B009 - untyped on SQLModel tables
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    new = insert.excluded
    greatest = sa.func.greatest if dialect == "postgresql" else sa.func.max  # SQLite's scalar max(a, b)
    least = sa.func.least if dialect == "postgresql" else sa.func.min
    changes = {
        "stage": greatest(table.c.stage, new.stage),
        "ticket_id": sa.case(
            (new.ticket_id.is_(None), table.c.ticket_id),
            (sa.or_(table.c.ticket_id.is_(None), new.ticket_id > table.c.ticket_id), new.ticket_id),
            else_=table.c.ticket_id,
        ),
        "used": sa.or_(table.c.used, new.used),
    }
    if spans:
        changes["first_hour"] = least(table.c.first_hour, new.first_hour)
        changes["last_hour"] = greatest(table.c.last_hour, new.last_hour)
    keys = [c.name for c in table.primary_key.columns]
    return insert.on_conflict_do_update(index_elements=keys, set_=changes)


def record(*, session: Session, events: Sequence[UsageEvent]) -> None:
    """Add newly stored events to the rollup, in the caller's transaction (does not commit)."""
    dialect = session.get_bind().dialect.name
    hours, pairs = _rows(events)
    connection = session.connection()
    for spans, rows in ((False, hours), (True, pairs)):
        if rows:
            connection.execute(_upsert(dialect, spans), rows)


def hour_sql(dialect: str) -> str:
    """SQL for the UTC hour of ``occurred_at`` (:func:`hour_of`), as the rollups' rebuilds group on it."""
    if dialect == "postgresql":
        return "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return "substr(occurred_at, 1, 13) || ':00:00.000000'"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text


def _backfill_sql(dialect: str) -> str:
    stage = " ".join(f"WHEN '{t}' THEN {n}" for t, n in STAGE_OF.items())
    uses = ", ".join(f"'{t}'" for t in USE_TYPES)
    hour = hour_sql(dialect)
    used = f"bool_or(type IN ({uses}))" if dialect == "postgresql" else f"max(type IN ({uses}))"
    used_pair = "bool_or(used)" if dialect == "postgresql" else "max(used)"
    return (
        "INSERT INTO usage_pair_hours (suggestion_id, article_id, hour, stage, ticket_id, used) "
        f"SELECT suggestion_id, article_id, {hour}, max(CASE type {stage} ELSE 0 END), max(ticket_id), {used} "
        "FROM usage_events WHERE suggestion_id IS NOT NULL GROUP BY 1, 2, 3;"
        "INSERT INTO usage_pairs (suggestion_id, article_id, first_hour, last_hour, stage, ticket_id, used) "
        f"SELECT suggestion_id, article_id, min(hour), max(hour), max(stage), max(ticket_id), {used_pair} "
        "FROM usage_pair_hours GROUP BY 1, 2"
    )


def rebuild(connection: sa.Connection) -> int:
    """Rebuild every row kept on write (this rollup, the tickets' last links, the used suggestions, the article
    hours, the tickets' latest outcomes) from the stored events and outcomes, for rows loaded around the write
    path; returns the rollup's rows."""
    from service.usage import article_rollup, suggestion_uses, ticket_latest  # they import this module

    connection.execute(sa.delete(PairHour))
    connection.execute(sa.delete(Pair))
    for statement in _backfill_sql(connection.dialect.name).split(";"):
        connection.exec_driver_sql(statement)
    ticket_links.rebuild(connection)
    suggestion_uses.rebuild(connection)
    article_rollup.rebuild(connection)
    ticket_latest.rebuild(connection)
    return int(connection.execute(sa.select(sa.func.count()).select_from(PairHour)).scalar_one())
