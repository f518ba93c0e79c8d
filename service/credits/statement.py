"""Months in the report time zone and the monthly statement CSV the points system imports.

CSV columns: ``period,agent_id,team,rule_id,entries,points`` — one row per agent and rule of
the entries created in the month (reversals count under the rule they reverse), then one
``TOTAL`` row per agent whose points are that agent's net change in the month.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from service.db import utcnow
from service.usage.periods import day_start

COLUMNS = ("period", "agent_id", "team", "rule_id", "entries", "points")
TOTAL = "TOTAL"


def current_month(zone: ZoneInfo, now: datetime | None = None) -> str:
    """This month as ``YYYY-MM`` in ``zone``."""
    local = (now or utcnow()).astimezone(zone)
    return f"{local.year}-{local.month:02d}"


def month_bounds(period: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of month ``YYYY-MM`` in ``zone``."""
    year, month = (int(p) for p in period.split("-"))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return day_start(date(year, month, 1), zone), day_start(nxt, zone)


def statement_csv(period: str, rows: list[tuple[str, str | None, str, int, int]]) -> str:
    """The statement of ``rows`` (agent, team, rule, entries, points, sorted by agent and rule)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    teams: dict[str, str | None] = {}
    for agent, team, rule, entries, points in rows:
        writer.writerow((period, agent, team or "", rule, entries, points))
        totals[agent][0] += entries
        totals[agent][1] += points
        teams[agent] = team
    for agent, (entries, points) in totals.items():
        writer.writerow((period, agent, teams[agent] or "", TOTAL, entries, points))
    return out.getvalue()
