"""Report tables from counts: the one place each report's columns, rows and definition are written.

Two paths count: the SQL aggregates (``service.usage.aggregates``, what the service runs) and the
Python definitions over loaded facts (``service.usage.analytics``, the reference the aggregates are
tested against). Both hand their counts to these builders, so a report reads the same either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from service.usage.models import FUNNEL
from service.usage.periods import Period

GroupBy = Literal["all", "team", "agent", "channel"]
REUSE_BUCKETS = ((1, 1, "1"), (2, 5, "2-5"), (6, 20, "6-20"), (21, None, "21+"))
REUSE_KINDS = ("reuse", "new", "unknown")


@dataclass(frozen=True, slots=True)
class Table:
    """A report: its name, what it measures, column names and rows."""

    report: str
    definition: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Options:
    """How to cut a report."""

    period: Period = "week"
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    group_by: GroupBy = "all"
    window_days: int = 7
    team: str | None = None  # with group_by "team": only this team's rows (what a team's dashboard reads)

    def keeps(self, group: str) -> bool:
        """Whether a row of ``group`` belongs in the report (all but the other teams' when ``team`` is set)."""
        return self.group_by != "team" or self.team is None or group == self.team


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to 4 places; None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


def link_rate_table(counts: Mapping[tuple[str, str], Sequence[int]]) -> Table:
    """Rows from ``{(group, period): (closed, linked)}``, with each group's change from its previous period."""
    rows: list[tuple[Any, ...]] = []
    previous: dict[str, float | None] = {}
    for (group, period), (closed, linked) in sorted(counts.items()):
        rate = ratio(linked, closed)
        before = previous.get(group)
        trend = round(rate - before, 4) if rate is not None and before is not None else None
        rows.append((group, period, closed, linked, rate, trend))
        previous[group] = rate
    definition = (
        "link rate = closed or resolved tickets with at least one linked article ÷ closed or resolved "
        "tickets; a ticket counts in the period of its latest outcome when that is resolved or closed; "
        "links are net of unlinks; trend = change from the group's previous period"
    )
    return Table("link-rate", definition, ("group", "period", "closed", "linked", "link_rate", "trend"), rows)


def adoption_table(counts: Mapping[tuple[str, str], Sequence[int]]) -> Table:
    """Rows from ``{(group, period): (suggestions, adopted)}``."""
    rows = [(g, p, n, a, ratio(a, n)) for (g, p), (n, a) in sorted(counts.items())]
    definition = "adoption = suggestions with ≥ 1 copied, inserted or linked result ÷ suggestions (by creation period)"
    return Table("adoption", definition, ("group", "period", "suggestions", "adopted", "adoption"), rows)


def adoption_by_rank_table(counts: Mapping[int, int]) -> Table:
    """Rows from ``{rank: adopted suggestions whose first used result had that rank}``."""
    total = sum(counts.values())
    rows = [(rank, n, ratio(n, total)) for rank, n in sorted(counts.items())]
    definition = "for each adopted suggestion, the rank (1 = top) of the first result copied, inserted or linked"
    return Table("adoption-by-rank", definition, ("rank", "suggestions", "share"), rows)


def funnel_table(per_article: Mapping[str, Sequence[int]], window_days: int) -> Table:
    """The overall row (the sum) and one row per article from ``{article: pairs reaching each FUNNEL stage}``."""
    overall = [sum(counts[i] for counts in per_article.values()) for i in range(len(FUNNEL))]
    ordered = sorted(per_article.items(), key=lambda item: (-item[1][0], item[0]))
    rows: list[tuple[Any, ...]] = [("all", *overall), *((a, *counts) for a, counts in ordered)]
    return Table("funnel", _funnel_definition(window_days), ("article_id", *FUNNEL), rows)


def funnel_overall_table(overall: Sequence[int], window_days: int) -> Table:
    """The funnel's overall row alone, from the pairs reaching each FUNNEL stage."""
    return Table("funnel", _funnel_definition(window_days), ("article_id", *FUNNEL), [("all", *overall)])


def _funnel_definition(window_days: int) -> str:
    return (
        f"(suggestion, article) pairs reaching each stage; a later stage implies the earlier ones; "
        f"solved = linked on a ticket that is resolved or closed with no reopen within {window_days} "
        "days"
    )


def reuse_table(kinds: Mapping[str, int]) -> Table:
    """Rows from ``{reuse|new|unknown: links}``."""
    total = sum(kinds.values())
    rows = [(k, kinds.get(k, 0), ratio(kinds.get(k, 0), total)) for k in REUSE_KINDS]
    definition = (
        "per (ticket, linked article): reuse when the service first served the article before the ticket "
        "started (its first suggestion, event or outcome), new when after; unknown = never served"
    )
    return Table("reuse", definition, ("kind", "links", "share"), rows)


def reuse_distribution_table(tickets_per_article: Mapping[str, int]) -> Table:
    """Articles bucketed by how many tickets link them, from ``{article: tickets linking it}``."""
    total = sum(tickets_per_article.values())
    rows = []
    for low, high, label in REUSE_BUCKETS:
        counts = [n for n in tickets_per_article.values() if n >= low and (high is None or n <= high)]
        rows.append((label, len(counts), sum(counts), ratio(sum(counts), total)))
    return Table(
        "reuse-distribution",
        "articles grouped by how many tickets link them; links = their share",
        ("tickets_linking", "articles", "links", "share_of_links"),
        rows,
    )
