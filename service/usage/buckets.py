"""Report periods computed in SQL: the local start date of a UTC instant's day, ISO week or month.

The reports group in the database, so the bucket of :func:`service.usage.periods.bucket` has to be
an SQL expression on both dialects. PostgreSQL converts with ``AT TIME ZONE``. SQLite has no time
zones, so the zone's UTC offsets become a ``CASE`` over its transitions (a balanced tree of them:
a zone with daylight saving time has ~260 between 1970 and 2100, and each row then costs ~8
comparisons) and the date functions shift by the offset. The expression yields the period's first
local day; :func:`label` turns it into the label ``bucket`` gives.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from service.usage.models import TZ
from service.usage.periods import Period

_SPAN = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
_SQLITE_PERIOD = {"day": (), "week": ("weekday 0", "-6 days"), "month": ("start of month",)}
_PG_TRUNC = {"day": "day", "week": "week", "month": "month"}


def _offset_minutes(zone: ZoneInfo, at: datetime) -> int:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


@functools.lru_cache(maxsize=32)
def transitions(zone: ZoneInfo) -> tuple[tuple[datetime, int], ...]:
    """``(from, offset in minutes)`` for each stretch of constant offset between 1970 and 2100 (first from = 1970)."""
    start, end = _SPAN
    stretches = [(start, _offset_minutes(zone, start))]
    day = start
    while day < end:
        following = day + timedelta(days=1)
        if _offset_minutes(zone, following) != stretches[-1][1]:
            low, high = int(day.timestamp()), int(following.timestamp())  # the change is in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_minutes(zone, datetime.fromtimestamp(middle, UTC)) == stretches[-1][1]:
                    low = middle
                else:
                    high = middle
            changed = datetime.fromtimestamp(high, UTC)
            stretches.append((changed, _offset_minutes(zone, changed)))
        day = following
    return tuple(stretches)


def on_whole_hours(zone: ZoneInfo) -> bool:
    """Whether ``zone``'s offsets (1970-2100) are whole hours and change on whole UTC hours: then every UTC hour
    lies in one local day."""
    return all(offset % 60 == 0 and at.minute == at.second == 0 for at, offset in transitions(zone))


def _sqlite_offset(column: Any, stretches: tuple[tuple[datetime, int], ...]) -> Any:
    """The ``'+480 minutes'`` modifier of ``column``'s instant, as a balanced CASE over the stretches."""
    if len(stretches) == 1:
        return sa.literal(f"{stretches[0][1]:+d} minutes")
    middle = len(stretches) // 2
    boundary = sa.literal(stretches[middle][0], type_=TZ)  # bound through the DateTime type: same text as stored
    return sa.case(
        (column < boundary, _sqlite_offset(column, stretches[:middle])),
        else_=_sqlite_offset(column, stretches[middle:]),
    )


def period_start(column: Any, period: Period, zone: ZoneInfo, dialect: str) -> Any:
    """An SQL expression: the first local day of the period holding ``column`` (a stored UTC time).

    SQLite yields ``'YYYY-MM-DD'`` text, PostgreSQL a date or timestamp; :func:`label` reads either.
    """
    if dialect == "postgresql":
        local = sa.func.timezone(zone.key, column)
        return sa.func.date_trunc(_PG_TRUNC[period], local)
    return sa.func.date(column, _sqlite_offset(column, transitions(zone)), *_SQLITE_PERIOD[period])


def label(start: date | datetime | str, period: Period) -> str:
    """The period label (as :func:`service.usage.periods.bucket`) of a period's first day."""
    day = date.fromisoformat(start[:10]) if isinstance(start, str) else start
    if isinstance(day, datetime):
        day = day.date()
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"
