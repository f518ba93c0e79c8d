"""GET /v1/analytics/{report} (editor or admin): every report of ``service.usage.reports``."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from service.deps import HolderDep, SessionDep, SettingsDep, require_roles
from service.errors import InvalidInput, NotFound
from service.fields import Day
from service.keys.auth import Principal
from service.usage.analytics import GroupBy, Options
from service.usage.periods import Period, day_end, day_start
from service.usage.reports import KB, REPORT_NAMES, ReportUnavailable, run_report
from service.usage.schemas import ReportPublic

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

EditorDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]


@router.get("/{report}", response_model=ReportPublic, summary="A usage report (definitions in docs/usage.md)")
async def get_report(
    report: str,
    _principal: EditorDep,
    session: SessionDep,
    settings: SettingsDep,
    holder: HolderDep,
    period: Period = "week",
    group_by: GroupBy = "all",
    since: Annotated[Day | None, Query(description="First day (report time zone), 1970 to 2999.")] = None,
    until: Annotated[Day | None, Query(description="Last day, included.")] = None,
) -> ReportPublic:
    """One report over ``[since, until]`` in ``KB_USAGE_TIME_ZONE``; every table states its definition."""
    if report not in REPORT_NAMES:
        raise NotFound(f"unknown report {report!r} (one of: {', '.join(REPORT_NAMES)})", details={"report": report})
    if since and until and since > until:
        raise InvalidInput(
            "since is after until", details=[{"field": "since", "message": "after until", "type": "range"}]
        )
    zone = ZoneInfo(settings.usage_time_zone)
    opts = Options(period=period, zone=zone, group_by=group_by, window_days=settings.usage_reopen_window_days)
    kb = KB.of(holder.retriever)
    try:
        table = await run_in_threadpool(
            run_report,
            report,
            session=session,
            opts=opts,
            kb=kb,
            gap_distance=settings.usage_gap_distance,
            since=day_start(since, zone) if since else None,
            until=day_end(until, zone) if until else None,
            today=date.today(),
        )
    except ReportUnavailable as exc:
        raise InvalidInput(str(exc)) from exc
    return ReportPublic(
        report=table.report,
        definition=table.definition,
        period=period,
        time_zone=settings.usage_time_zone,
        columns=list(table.columns),
        rows=[list(r) for r in table.rows],
    )
