"""Response models of ``/v1/dashboard``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ChartPublic(BaseModel):
    """A chart of the catalog: what it plots and whether the team picker narrows it."""

    id: str
    kind: str
    title_zh: str
    title_en: str
    source: str
    x: str
    y: list[str]
    team: bool


class DashboardPublic(BaseModel):
    """What the page needs before it asks for charts: the pickers' choices and the catalog."""

    months: list[str]
    month: str
    teams: list[str]
    target: float
    time_zone: str
    charts: list[ChartPublic]


class SectionPublic(BaseModel):
    """One chart's figures for a month (and team): rows are the points, the table and the CSV."""

    id: str
    month: str
    team: str | None
    trend: str
    source: str
    definition: str
    columns: list[str]
    rows: list[list[Any]]
    team_scoped: bool
    note: str | None
    extra: dict[str, Any]


class SummaryPublic(BaseModel):
    """The month's headline figures against the previous month, and the paragraph in both languages."""

    month: str
    previous: str
    team: str | None
    target: float
    current: dict[str, Any]
    before: dict[str, Any]
    open_work: dict[str, int] | None
    text: dict[str, str]
