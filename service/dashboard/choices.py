"""The pickers' choices: the months with recorded usage and the teams of agents (two small aggregates)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from service.db import utcnow
from service.suggestions.models import Suggestion
from service.usage.models import Agent, TicketOutcome
from service.usage.periods import bucket

MAX_MONTHS = 36


def months(*, session: Session, zone: ZoneInfo, now: datetime | None = None) -> list[str]:
    """``YYYY-MM`` from the month of the first suggestion or outcome to this month, newest first (at most 36)."""
    conn = session.connection()
    firsts = [
        conn.execute(sa.select(sa.func.min(col(Suggestion.created_at)))).scalar_one(),
        conn.execute(sa.select(sa.func.min(col(TicketOutcome.occurred_at)))).scalar_one(),
    ]
    end = bucket(now or utcnow(), "month", zone)
    start = min((bucket(f, "month", zone) for f in firsts if f is not None), default=end)
    year, month = (int(p) for p in end.split("-"))
    out: list[str] = []
    while len(out) < MAX_MONTHS:
        label = f"{year}-{month:02d}"
        out.append(label)
        if label <= start:
            break
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def teams(*, session: Session) -> list[str]:
    """The teams of active agents, sorted."""
    query = sa.select(col(Agent.team)).where(col(Agent.active), col(Agent.team).is_not(None)).distinct()
    return sorted(str(t) for (t,) in session.connection().execute(query))
