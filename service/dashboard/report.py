"""The monthly report's data: every section of the month and the summary against the month before."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session

from service.dashboard.month import Content, Month, Scope, Section, previous_month
from service.dashboard.summary import summarize


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """The sections (catalog order) and the summary of one month and team."""

    scope: Scope
    sections: list[Section]
    summary: dict[str, Any]

    def as_json(self, time_zone: str) -> dict[str, Any]:
        """What ``kbassist report monthly --format json`` prints."""
        return {
            "month": self.scope.month,
            "team": self.scope.team,
            "trend": self.scope.trend,
            "time_zone": time_zone,
            "target": self.scope.target,
            "summary": self.summary,
            "sections": [s.as_json() for s in self.sections],
        }


def monthly_report(*, session: Session, scope: Scope, content: Content) -> MonthlyReport:
    """Build every section of ``scope``'s month, then the summary (the previous month's headline figures too)."""
    now = Month(session=session, scope=scope, content=content)
    before = Month(session=session, scope=replace(scope, month=previous_month(scope.month)), content=content)
    sections = now.sections()
    return MonthlyReport(scope, sections, summarize(now, before, with_open_work=True))
