"""Report periods: a UTC instant → its day, ISO week or month in the report's time zone.

Stored times are UTC (SQLite keeps no offset, so every write converts first); a period is
a calendar unit where the team works, by default Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month"]


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time; a naive value (SQLite) is already UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bucket(value: datetime, period: Period, zone: ZoneInfo) -> str:
    """The period label of an instant: ``2026-12-01`` (day), ``2026-W49`` (ISO week), ``2026-12`` (month)."""
    local = as_utc(value).astimezone(zone)
    if period == "day":
        return local.date().isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone``, as UTC (for ``--since``/``--until`` given as dates)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """Midnight after ``day`` in ``zone``, as UTC (``--until`` includes its day)."""
    return day_start(day + timedelta(days=1), zone)
