"""The dashboard's charts: what each one draws, from which report, and whether the team picker applies.

One catalog serves the page (``GET /v1/dashboard`` lists it), the JSON endpoints and the
monthly report, so a chart has the same title, columns and figures everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["line", "funnel", "pie", "bar"]


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: its id, kind, titles, the report its figures come from, and the columns it plots.

    ``x`` names the column of the labels and ``y`` the plotted columns; every row of the
    section is one point of each plotted series, and the same rows are the table and CSV.
    ``team`` says whether the team picker narrows the figures (the other charts are KB-wide).
    """

    id: str
    kind: Kind
    title_zh: str
    title_en: str
    source: str
    x: str
    y: tuple[str, ...]
    team: bool = False


TOP = 10
"""Rows of the top-N charts (most used articles, gap groups, flagged articles, leaderboard)."""

CHARTS: tuple[Chart, ...] = (
    Chart("link-rate", "line", "知识库关联率趋势", "KB link rate trend", "link-rate", "period", ("link_rate",), True),
    Chart("funnel", "funnel", "采纳漏斗", "Adoption funnel", "funnel", "stage", ("pairs",)),
    Chart("reuse", "pie", "复用与新建", "Reuse vs new", "reuse", "kind", ("links",)),
    Chart("top-articles", "bar", "最常使用的文章", "Most used articles", "articles", "article_id", ("uses",)),
    Chart(
        "never-used",
        "bar",
        "本月未被使用的文章（按类目）",
        "Articles never used (by category)",
        "articles",
        "category",
        ("never_used",),
    ),
    Chart(
        "stale-in-use", "bar", "仍在使用的过期文章", "Stale articles still in use", "articles", "article_id", ("uses",)
    ),
    Chart("gaps", "bar", "内容缺口聚类", "Content-gap clusters", "gaps", "examples", ("queries",)),
    Chart("flags", "bar", "未处理的报错", "Open flags", "flags", "article_id", ("open_flags",)),
    Chart("team-points", "bar", "各团队积分", "Points per team", "credits leaderboard", "team", ("points",)),
    Chart(
        "leaderboard", "bar", "积分排行榜", "Points leaderboard", "credits leaderboard", "agent_id", ("points",), True
    ),
)
CHART_IDS = tuple(c.id for c in CHARTS)
BY_ID = {c.id: c for c in CHARTS}
