"""``/v1/dashboard``: the pickers and catalog, one chart's figures, the month's summary (editor or admin).

Plain ``def`` routes: each waits on report queries, so they run in the thread pool, and the
page asks for its charts in parallel, one request each.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request

from service.config import ServiceSettings
from service.credits.schemas import Period
from service.credits.statement import current_month
from service.dashboard import choices
from service.dashboard.cache import SharedResults
from service.dashboard.catalog import CHART_IDS, CHARTS
from service.dashboard.month import Content, Month, Scope, Trend, previous_month
from service.dashboard.schemas import ChartPublic, DashboardPublic, SectionPublic, SummaryPublic
from service.dashboard.summary import summarize
from service.deps import HolderDep, SessionDep, SettingsDep, require_roles
from service.errors import NotFound
from service.keys.auth import Principal
from service.usage.analytics import Table
from service.usage.schemas import Label

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])

EditorDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]
MonthQuery = Annotated[Period | None, Query(description="A month, YYYY-MM (KB_USAGE_TIME_ZONE); default this month.")]
TeamQuery = Annotated[Label | None, Query(description="Narrow the team-scoped figures to this team.")]
TrendQuery = Annotated[Trend, Query(description="Link-rate trend points: per day or ISO week of the month.")]


def get_shared(request: Request) -> SharedResults[Table]:
    """The app's report tables shared between the requests of a page load (made on first use)."""
    shared: SharedResults[Table] = request.app.state._state.setdefault("dashboard_reports", SharedResults())
    return shared


SharedDep = Annotated[SharedResults[Table], Depends(get_shared)]


def _scope(settings: ServiceSettings, month: str | None, team: str | None, trend: Trend) -> Scope:
    chosen = month or current_month(ZoneInfo(settings.usage_time_zone))
    return Scope.of(settings, chosen, team=team, trend=trend, today=date.today())


@router.get("", response_model=DashboardPublic, summary="The dashboard's months, teams, target and charts")
def read_dashboard(_principal: EditorDep, session: SessionDep, settings: SettingsDep) -> DashboardPublic:
    """Months from the first recorded suggestion or outcome to this one (newest first), and the teams of agents."""
    zone = ZoneInfo(settings.usage_time_zone)
    months = choices.months(session=session, zone=zone)
    return DashboardPublic(
        months=months,
        month=months[0],
        teams=choices.teams(session=session),
        target=settings.dashboard_link_rate_target,
        time_zone=settings.usage_time_zone,
        charts=[ChartPublic(**{**asdict(c), "y": list(c.y)}) for c in CHARTS],
    )


@router.get("/charts/{chart}", response_model=SectionPublic, summary="One chart's figures for a month")
def read_chart(
    chart: Annotated[str, Path(max_length=32)],
    _principal: EditorDep,
    session: SessionDep,
    settings: SettingsDep,
    holder: HolderDep,
    shared: SharedDep,
    month: MonthQuery = None,
    team: TeamQuery = None,
    trend: TrendQuery = "day",
) -> SectionPublic:
    """The chart's rows (its points, table and CSV), definition and source report (docs/dashboard.md)."""
    if chart not in CHART_IDS:
        raise NotFound(f"unknown chart {chart!r} (one of: {', '.join(CHART_IDS)})", details={"chart": chart})
    scope = _scope(settings, month, team, trend)
    section = Month(session=session, scope=scope, content=Content.of(holder.retriever), shared=shared).section(chart)
    return SectionPublic(month=scope.month, team=team, trend=trend, **section.as_json())


@router.get("/summary", response_model=SummaryPublic, summary="The month's headline figures against the previous")
def read_summary(
    _principal: EditorDep,
    session: SessionDep,
    settings: SettingsDep,
    holder: HolderDep,
    shared: SharedDep,
    month: MonthQuery = None,
    team: TeamQuery = None,
) -> SummaryPublic:
    """Link rate, adoption, reuse and points of the month and the one before, and the paragraph (zh, en)."""
    scope = _scope(settings, month, team, "day")
    content = Content.of(holder.retriever)
    before = Scope.of(settings, previous_month(scope.month), team=team, trend="day", today=scope.today)
    now_month = Month(session=session, scope=scope, content=content, shared=shared)
    before_month = Month(session=session, scope=before, content=content, shared=shared)
    return SummaryPublic(**summarize(now_month, before_month, with_open_work=False))
