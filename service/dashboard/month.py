"""A month of the dashboard: each chart's section, built by calling the usage reports and the credit ledger.

No figure is computed twice: every section is a cut of a ``service.usage.reports`` table (or of
``service.credits.crud.leaderboard``) for the month's range, so the dashboard, the monthly report
and ``kbassist report NAME --format json`` for the same days agree. What a section adds is
selection (the month's days, the picked team, the top rows) and sums of those rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from indexer.search import Retriever
from service.config import ServiceSettings
from service.credits import crud as credits_crud
from service.credits.statement import month_bounds
from service.dashboard.cache import SharedResults
from service.dashboard.catalog import BY_ID, TOP
from service.dashboard.handoff import skeleton
from service.pii import PIIMasker
from service.usage import gap_records
from service.usage.analytics import GroupBy, Options, Table
from service.usage.models import FUNNEL
from service.usage.periods import Period
from service.usage.reports import KB, ReportUnavailable, run_report

Trend = Literal["day", "week"]
# Reports shared between requests: several charts and the summary read the same ones, and a KB-wide
# report is the same for every team picked. Gaps and flags change when an editor acts on them (records a
# gap, resolves a flag), so each request reads them fresh.
SHARED_REPORTS = frozenset({"articles", "link-rate", "adoption", "reuse", "funnel-overall"})
TEAM_LIMIT = 100_000  # every agent: team totals are sums over the whole leaderboard
ReportKey = tuple[str, Period, GroupBy]
# Reports computed at once by one request (prefetch): more than the cores only queue on them, and each
# holds a pooled connection while it runs.
PREFETCH_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Content:
    """The serving build as the dashboard sees it: article metadata by id, and the reports' KB view."""

    articles: Mapping[str, Mapping[str, Any]]
    kb: KB
    version: str | None = None

    @classmethod
    def of(cls, retriever: Retriever | None) -> Content:
        """The content of a loaded build, or of none (no titles, stale marks or gap grouping)."""
        if retriever is None:
            return cls({}, KB.of(None))
        return cls(retriever.articles, KB.of(retriever), retriever.version)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which month, team and trend granularity, with the settings the reports need."""

    month: str
    zone: ZoneInfo
    today: date
    team: str | None = None
    trend: Trend = "day"
    window_days: int = 7
    gap_distance: float = 0.35
    target: float = 0.85
    masker: PIIMasker = field(default_factory=lambda: PIIMasker({}))

    @classmethod
    def of(cls, settings: ServiceSettings, month: str, *, team: str | None, trend: Trend, today: date) -> Scope:
        """A scope with the settings' time zone, reopen window, gap distance, target and PII patterns."""
        return cls(
            month=month,
            zone=ZoneInfo(settings.usage_time_zone),
            today=today,
            team=team,
            trend=trend,
            window_days=settings.usage_reopen_window_days,
            gap_distance=settings.usage_gap_distance,
            target=settings.dashboard_link_rate_target,
            masker=PIIMasker(settings.pii_patterns),
        )

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The month's UTC range ``[since, until)`` in the report time zone."""
        return month_bounds(self.month, self.zone)


@dataclass(frozen=True, slots=True)
class Section:
    """One chart's figures: the rows it plots (also its table and CSV) and where they come from."""

    id: str
    source: str
    definition: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    team_scoped: bool
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The section as JSON-ready data (rows as lists)."""
        return {
            "id": self.id,
            "source": self.source,
            "definition": self.definition,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "team_scoped": self.team_scoped,
            "note": self.note,
            "extra": self.extra,
        }


def previous_month(month: str) -> str:
    """The month before ``YYYY-MM``."""
    year, number = (int(p) for p in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Month:
    """One scope's month: its sections, each built once, on reports each run once."""

    def __init__(
        self, *, session: Session, scope: Scope, content: Content, shared: SharedResults[Table] | None = None
    ) -> None:
        self.session, self.scope, self.content = session, scope, content
        self.shared = shared
        self._done: dict[tuple[str, str, str], Table] = {}
        self._sections: dict[str, Section] = {}

    def section(self, chart: str) -> Section:
        """One chart's section. Raises KeyError for an unknown chart id."""
        if chart not in self._sections:
            self._sections[chart] = BUILDERS[chart](self)
        return self._sections[chart]

    def sections(self) -> list[Section]:
        """Every chart's section, in catalog order."""
        return [self.section(chart) for chart in BY_ID]

    def adoption(self) -> tuple[int, int, float | None]:
        """Suggestions, adopted suggestions and adoption in the month, for the team or all."""
        team = self.scope.team
        table = self.get("adoption", "month", "team" if team else "all")
        cell = next((row for row in table.rows if row[0] == (team or "all") and row[1] == self.scope.month), None)
        suggestions, adopted = (int(cell[2]), int(cell[3])) if cell else (0, 0)
        return suggestions, adopted, _ratio(adopted, suggestions)

    def get(self, name: str, period: Period = "month", group_by: GroupBy = "all") -> Table:
        key = (name, period, group_by)
        if key not in self._done:
            self._done[key] = self._compute(key, self.session)
        return self._done[key]

    def _compute(self, key: ReportKey, session: Session) -> Table:
        name, period, group_by = key
        since, until = self.scope.bounds
        # A team's page reads only its own team's rows of a per-team report: counted for that team alone.
        team = self.scope.team if group_by == "team" else None
        opts = Options(
            period=period, zone=self.scope.zone, group_by=group_by, window_days=self.scope.window_days, team=team
        )

        def compute() -> Table:
            return run_report(
                name,
                session=session,
                opts=opts,
                since=since,
                until=until,
                kb=self.content.kb,
                gap_distance=self.scope.gap_distance,
                today=self.scope.today,
            )

        if self.shared is None or name not in SHARED_REPORTS:
            return compute()
        s = self.scope
        shared_key = (*key, team, s.month, s.zone.key, s.window_days, s.gap_distance, s.today, self.content.version)
        return self.shared.get(shared_key, compute)

    def title(self, article_id: str) -> str | None:
        meta = self.content.articles.get(article_id)
        return str(meta.get("title") or "") if meta is not None else None


def prefetch(wanted: Iterable[tuple[Month, ReportKey]]) -> None:
    """Compute the reports a request needs at once, each on a connection of its own.

    A request waits for its slowest report rather than their sum: each is one SQL statement
    that holds a core (SQLite and psycopg release the GIL while it runs), so on two cores the
    summary's month and the month before cost about half of one after the other (bench/README.md,
    "Dashboard requests"). Without a pool to draw connections from (a session bound to one
    connection, an in-memory SQLite database) the reports are computed one by one when asked for.
    """
    missing = list({(id(m), key): (m, key) for m, key in wanted if key not in m._done}.values())
    if len(missing) < 2:
        return
    engine = missing[0][0].session.get_bind()
    if not isinstance(engine, sa.Engine) or isinstance(engine.pool, StaticPool):
        return

    def one(item: tuple[Month, ReportKey]) -> Table:
        month, key = item
        with Session(engine) as session:
            return month._compute(key, session)

    with ThreadPoolExecutor(max_workers=min(len(missing), PREFETCH_WORKERS)) as pool:
        for (month, key), table in zip(missing, pool.map(one, missing), strict=True):
            month._done[key] = table


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def link_rate(r: Month) -> Section:
    """Closed and linked tickets per day (or ISO week) of the month for the team or all; the month's total."""
    team = r.scope.team
    table = r.get("link-rate", "day", "team" if team else "all")
    days = [(p, closed, linked) for g, p, closed, linked, *_ in table.rows if g == (team or "all")]
    days = [d for d in days if d[0].startswith(r.scope.month)]
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for day, closed, linked in days:
        cell = cells[_week(day) if r.scope.trend == "week" else day]
        cell[0] += closed
        cell[1] += linked
    rows = [(p, c, k, _ratio(k, c)) for p, (c, k) in sorted(cells.items())]
    closed, linked = sum(c for _, c, _ in days), sum(k for _, _, k in days)
    extra = {"target": r.scope.target, "closed": closed, "linked": linked, "link_rate": _ratio(linked, closed)}
    definition = f"{table.definition}; the month's days summed per {r.scope.trend}, target {r.scope.target}"
    return Section(
        "link-rate", "link-rate", definition, ("period", "closed", "linked", "link_rate"), rows, True, None, extra
    )


def funnel(r: Month) -> Section:
    """The funnel's overall row as one row per stage, with the adoption rate (team or all) beside it."""
    adoption_key: ReportKey = ("adoption", "month", "team" if r.scope.team else "all")
    prefetch([(r, ("funnel-overall", "month", "all")), (r, adoption_key)])
    table = r.get("funnel-overall")  # the funnel report's overall row, counted without its per-article rows
    overall = next((row[1:] for row in table.rows if row[0] == "all"), (0,) * len(FUNNEL))
    rows = [(stage, n, _ratio(n, overall[0])) for stage, n in zip(FUNNEL, overall, strict=True)]
    suggestions, adopted, rate = r.adoption()
    extra = {"suggestions": suggestions, "adopted": adopted, "adoption": rate, "adoption_team_scoped": True}
    adoption = r.get(*adoption_key)  # the table adoption() read
    definition = f"{table.definition}; share = pairs ÷ shown pairs. {adoption.definition}"
    return Section("funnel", "funnel", definition, ("stage", "pairs", "share_of_shown"), rows, False, None, extra)


def reuse(r: Month) -> Section:
    """The reuse report as it is (reuse, new, unknown)."""
    table = r.get("reuse")
    return Section("reuse", "reuse", table.definition, table.columns, list(table.rows), False)


def _article_rows(r: Month) -> tuple[Table, list[dict[str, Any]]]:
    table = r.get("articles")
    return table, [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def top_articles(r: Month) -> Section:
    """The most used articles of the month (the articles report's order: uses, then id)."""
    table, rows = _article_rows(r)
    used = [a for a in rows if a["uses"] > 0]
    top = [(a["article_id"], r.title(a["article_id"]), a["uses"], a["helpful_ratio"], a["last_use"]) for a in used]
    columns = ("article_id", "title", "uses", "helpful_ratio", "last_use")
    return Section(
        "top-articles", "articles", table.definition, columns, top[:TOP], False, None, {"used_articles": len(used)}
    )


def never_used(r: Month) -> Section:
    """Articles of the serving build with no use in the month, counted per category."""
    _, rows = _article_rows(r)
    used = {a["article_id"] for a in rows if a["uses"] > 0}
    by_category: dict[str, list[str]] = defaultdict(list)
    for article_id, meta in sorted(r.content.articles.items()):
        if article_id not in used:
            by_category[str(meta.get("category") or "-")].append(article_id)
    ordered = sorted(by_category.items(), key=lambda item: (-len(item[1]), item[0]))
    out = [(category, len(ids), ", ".join(ids)) for category, ids in ordered]
    note = None if r.content.articles else "no serving build: the articles of the KB are unknown"
    definition = "articles of the serving build with no copied, inserted or linked event in the month, per category"
    return Section(
        "never-used",
        "articles",
        definition,
        ("category", "never_used", "article_ids"),
        out,
        False,
        note,
        {"never_used": sum(len(ids) for ids in by_category.values()), "articles": len(r.content.articles)},
    )


def stale_in_use(r: Month) -> Section:
    """Articles used in the month whose review date has passed in the serving build."""
    table, rows = _article_rows(r)
    stale = [a for a in rows if a["stale"] and a["uses"] > 0]
    out = [
        (
            a["article_id"],
            r.title(a["article_id"]),
            a["uses"],
            r.content.kb.review_by.get(a["article_id"]),
            a["last_use"],
        )
        for a in stale
    ]
    columns = ("article_id", "title", "uses", "review_by", "last_use")
    note = None if r.content.articles else "no serving build: review dates are unknown"
    return Section("stale-in-use", "articles", table.definition, columns, out, False, note)


def gaps(r: Month) -> Section:
    """The largest content-gap groups, each with masked examples and a front-matter skeleton to start from."""
    columns = ("queries", "examples", "closest_article", "gap_id", "recorded")
    try:
        table = r.get("gaps")
    except ReportUnavailable as exc:
        return Section("gaps", "gaps", "content gaps", columns, [], False, str(exc), {"groups": 0, "skeletons": []})
    rows = [(n, r.scope.masker.mask(ex).text, *rest) for n, ex, *rest in table.rows[:TOP]]
    # A closed gap was answered and paid once: a new article names only an open one.
    recorded = {g: gap_records.get_gap(session=r.session, gap_id=g) for *_, g, status in rows if status == "open"}
    skeletons = []
    for _, examples, closest, gap_id, _status in rows:
        gap = recorded.get(gap_id)
        meta = r.content.articles.get(closest or "", {})
        title = gap.title if gap is not None else examples.split(" | ")[0]
        skeletons.append(skeleton(title, examples.split(" | "), meta, gap.id if gap else None, r.scope.today))
    extra = {"groups": len(table.rows), "skeletons": skeletons}
    return Section("gaps", "gaps", table.definition, columns, rows, False, None, extra)


def flags(r: Month) -> Section:
    """Articles with the most open flags (flags still open now), with their masked comments."""
    table = r.get("flags")
    rows = [(a, n, r.scope.masker.mask(c).text) for a, n, c in table.rows[:TOP]]
    extra = {"flagged_articles": len(table.rows), "open_flags": sum(row[1] for row in table.rows)}
    return Section("flags", "flags", table.definition, table.columns, rows, False, None, extra)


def _leaders(r: Month, team: str | None, limit: int) -> list[tuple[str, str | None, int]]:
    since, until = r.scope.bounds
    return credits_crud.leaderboard(session=r.session, since=since, until=until, team=team, limit=limit)


LEADER_DEFINITION = "points earned in the month (credit entries other than redemptions), per agent"


def team_points(r: Month) -> Section:
    """Points earned per team in the month: the leaderboard of every agent, summed by team."""
    sums: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    for _, team, points in _leaders(r, None, TEAM_LIMIT):
        sums[team or "-"] += points
        agents[team or "-"] += 1
    rows = [(t, p, agents[t]) for t, p in sorted(sums.items(), key=lambda i: (-i[1], i[0]))]
    definition = f"{LEADER_DEFINITION}, summed per team (agents without a team: -)"
    return Section(
        "team-points",
        "credits leaderboard",
        definition,
        ("team", "points", "agents"),
        rows,
        False,
        None,
        {"points": sum(sums.values()), "agents": sum(agents.values())},
    )


def leaderboard(r: Month) -> Section:
    """The top agents by points in the month, within the team when one is picked."""
    rows = [(n, a, t, p) for n, (a, t, p) in enumerate(_leaders(r, r.scope.team, TOP), 1)]
    return Section(
        "leaderboard", "credits leaderboard", LEADER_DEFINITION, ("rank", "agent_id", "team", "points"), rows, True
    )


BUILDERS: dict[str, Callable[[Month], Section]] = {
    "link-rate": link_rate,
    "funnel": funnel,
    "reuse": reuse,
    "top-articles": top_articles,
    "never-used": never_used,
    "stale-in-use": stale_in_use,
    "gaps": gaps,
    "flags": flags,
    "team-points": team_points,
    "leaderboard": leaderboard,
}
assert set(BUILDERS) == set(BY_ID)
