"""The month in one paragraph: headline figures against the previous month, written out from numbers only.

The figures are the sections' own (link rate, adoption, reuse, points) so the paragraph, the
charts and the tables agree; the text is a template filled with them, in Chinese and English.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from service.dashboard.month import Month, ReportKey, prefetch, previous_month
from service.usage.tables import GroupBy


@dataclass(frozen=True, slots=True)
class Figures:
    """A month's headline figures (for the picked team where a figure has teams)."""

    closed: int
    linked: int
    link_rate: float | None
    suggestions: int
    adopted: int
    adoption: float | None
    links: int
    reused: int
    reuse_share: float | None
    points: int
    agents_with_points: int


def figure_reports(month: Month) -> list[ReportKey]:
    """The reports :func:`figures` reads (the link-rate, funnel and reuse sections' own)."""
    group: GroupBy = "team" if month.scope.team else "all"
    return [("link-rate", "day", group), ("adoption", "month", group), ("reuse", "month", "all")]


def figures(month: Month) -> Figures:
    """The headline figures of ``month`` from its sections (link rate, reuse, team points) and adoption."""
    rate = month.section("link-rate").extra
    suggestions, adopted, adoption = month.adoption()
    reuse = {row[0]: row for row in month.section("reuse").rows}
    links = sum(int(row[1]) for row in reuse.values())
    team_rows = month.section("team-points").rows
    if month.scope.team is not None:
        team_rows = [row for row in team_rows if row[0] == month.scope.team]
    return Figures(
        closed=int(rate["closed"]),
        linked=int(rate["linked"]),
        link_rate=rate["link_rate"],
        suggestions=suggestions,
        adopted=adopted,
        adoption=adoption,
        links=links,
        reused=int(reuse["reuse"][1]) if "reuse" in reuse else 0,
        reuse_share=reuse["reuse"][2] if "reuse" in reuse else None,
        points=sum(int(row[1]) for row in team_rows),
        agents_with_points=sum(int(row[2]) for row in team_rows),
    )


def counts(month: Month) -> dict[str, int]:
    """The month's open work: gap groups, open flags, stale articles still used, articles never used."""
    gaps, flags = month.section("gaps").extra, month.section("flags").extra
    return {
        "gap_groups": int(gaps.get("groups", 0)),
        "open_flags": int(flags["open_flags"]),
        "flagged_articles": int(flags["flagged_articles"]),
        "stale_in_use": len(month.section("stale-in-use").rows),
        "never_used": int(month.section("never-used").extra["never_used"]),
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _points_change(now: float | None, before: float | None, zh: bool) -> str:
    if now is None or before is None:
        return ""
    change = (now - before) * 100
    return f"，{change:+.1f} 个百分点" if zh else f", {change:+.1f} points"


def _count_change(now: int, before: int, zh: bool) -> str:
    if before == 0:
        return ""
    change = (now - before) / before * 100
    return f"，{change:+.1f}%" if zh else f", {change:+.1f}%"


def paragraph(
    month: str, team: str | None, target: float, now: Figures, before: Figures, open_work: dict[str, int] | None
) -> dict[str, str]:
    """The summary in Chinese and English: every clause is a figure and its change from the previous month."""
    prev = previous_month(month)
    who_zh, who_en = (f"团队 {team}", f"team {team}") if team else ("全部团队", "all teams")
    gap_to_target = None if now.link_rate is None else now.link_rate - target
    zh = (
        f"{month}（{who_zh}）：知识库关联率 {_pct(now.link_rate)}"
        f"（已关闭工单 {now.closed:,} 张，关联 {now.linked:,} 张；"
        f"目标 {_pct(target)}"
        + ("" if gap_to_target is None else f"，差 {gap_to_target * 100:+.1f} 个百分点")
        + f"；{prev} 为 {_pct(before.link_rate)}{_points_change(now.link_rate, before.link_rate, True)}）。"
        f"建议采纳率 {_pct(now.adoption)}（{now.adopted:,}/{now.suggestions:,}；{prev} 为 {_pct(before.adoption)}"
        f"{_points_change(now.adoption, before.adoption, True)}）。"
        f"关联中复用已有文章 {_pct(now.reuse_share)}（{now.reused:,}/{now.links:,}；{prev} 为 "
        f"{_pct(before.reuse_share)}{_points_change(now.reuse_share, before.reuse_share, True)}）。"
        f"{now.agents_with_points:,} 名坐席获得 {now.points:,} 积分（{prev} 为 {before.points:,}"
        f"{_count_change(now.points, before.points, True)}）。"
    )
    en = (
        f"{month} ({who_en}): KB link rate {_pct(now.link_rate)} ({now.linked:,} of {now.closed:,} closed tickets "
        f"linked; target {_pct(target)}"
        + ("" if gap_to_target is None else f", {gap_to_target * 100:+.1f} points from it")
        + f"; {prev}: {_pct(before.link_rate)}{_points_change(now.link_rate, before.link_rate, False)}). "
        f"Adoption {_pct(now.adoption)} ({now.adopted:,} of {now.suggestions:,} suggestions; {prev}: "
        f"{_pct(before.adoption)}{_points_change(now.adoption, before.adoption, False)}). "
        f"Reuse of existing articles {_pct(now.reuse_share)} of links ({now.reused:,} of {now.links:,}; {prev}: "
        f"{_pct(before.reuse_share)}{_points_change(now.reuse_share, before.reuse_share, False)}). "
        f"{now.points:,} points earned by {now.agents_with_points:,} agents ({prev}: {before.points:,}"
        f"{_count_change(now.points, before.points, False)})."
    )
    if open_work is not None:
        w = open_work
        zh += (
            f"待处理：内容缺口 {w['gap_groups']:,} 组，未处理报错 {w['open_flags']:,} 条"
            f"（{w['flagged_articles']:,} 篇文章），"
            f"仍在使用的过期文章 {w['stale_in_use']:,} 篇，本月未被使用的文章 {w['never_used']:,} 篇。"
        )
        en += (
            f" Open work: {w['gap_groups']:,} content-gap groups, {w['open_flags']:,} open flags on "
            f"{w['flagged_articles']:,} articles, {w['stale_in_use']:,} stale articles still in use, "
            f"{w['never_used']:,} articles not used this month."
        )
    return {"zh": zh, "en": en}


def summarize(now: Month, before: Month, *, with_open_work: bool) -> dict[str, Any]:
    """The summary of ``now`` against ``before`` (the previous month, same team): figures and paragraph."""
    prefetch((m, key) for m in (now, before) for key in figure_reports(m))
    current, previous = figures(now), figures(before)
    open_work = counts(now) if with_open_work else None
    scope = now.scope
    return {
        "month": scope.month,
        "previous": before.scope.month,
        "team": scope.team,
        "target": scope.target,
        "current": asdict(current),
        "before": asdict(previous),
        "open_work": open_work,
        "text": paragraph(scope.month, scope.team, scope.target, current, previous, open_work),
    }
