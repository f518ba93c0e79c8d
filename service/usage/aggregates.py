"""The ticket and suggestion reports counted in the database (GROUP BY), on SQLite and PostgreSQL.

Loading a month of events into Python to count them took 2–4 s per report at a million events
(``bench/usage_bench.py``); here only the counts leave the database. Each function is the SQL
form of the definition of the same name in ``service.usage.analytics`` (over the same rows:
``service.usage.facts`` says which), and is tested against it on hand-built data on both
dialects. Groups and periods are computed in an inner query and grouped on in an outer one:
PostgreSQL does not recognise two renderings of one expression with bound parameters as equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from service.suggestions.models import Suggestion
from service.usage import buckets, rollup, suggestion_uses, tables, ticket_latest, ticket_links, ticket_sql
from service.usage.models import (
    CLOSED,
    FUNNEL,
    STAGE_OF,
    USE_TYPES,
    Agent,
    ArticleSeen,
    SuggestionUse,
    TicketOutcomeAgent,
    UsageEvent,
)
from service.usage.tables import Options, Table
from service.usage.ticket_sql import event_range, in_range


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _period(session: Session, column: Any, opts: Options) -> Any:
    return buckets.period_start(column, opts.period, opts.zone, _dialect(session))


def _or_dash(column: Any) -> Any:
    """``column or "-"`` as Python reads it: NULL and the empty string both become ``-``."""
    return sa.func.coalesce(sa.func.nullif(column, ""), "-")


def _member(source: Any, key: Any, members: sa.Subquery, dialect: str) -> tuple[Any, sa.ColumnElement[bool]]:
    """``source`` and a condition: ``key`` is one of the (distinct) ``ticket_id`` of ``members``.

    SQLite scans a joined derived table once per row but builds an index for an IN list; PostgreSQL
    re-runs an IN subquery per row here (it does not hash it inside a CASE) but hashes a join.
    """
    if dialect == "postgresql":
        return source.outerjoin(members, members.c.ticket_id == key), members.c.ticket_id.is_not(None)
    return source, key.in_(sa.select(members.c.ticket_id))


def _grouped(session: Session, inner: sa.Select[Any], *sums: str) -> dict[tuple[str, Any], list[int]]:
    """``{(group, period label): [count, sum of each column in sums]}`` from an inner query of grp, period, …."""
    sub = inner.subquery("cells")
    totals = [sa.func.count(), *(sa.func.sum(sub.c[name]) for name in sums)]
    query = sa.select(sub.c.grp, sub.c.period, *totals).group_by(sub.c.grp, sub.c.period)
    return {(str(g), p): [int(n or 0) for n in counts] for g, p, *counts in session.connection().execute(query)}


def _labelled(cells: dict[tuple[str, Any], list[int]], opts: Options) -> dict[tuple[str, str], list[int]]:
    return {(g, buckets.label(p, opts.period)): counts for (g, p), counts in cells.items()}


def link_rate(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.link_rate`` counted in SQL."""
    dialect = _dialect(session)
    latest = ticket_latest.latest_in(since, until)
    # A ticket with an outcome in the range keeps all its links (event_range): its last link events of all time.
    source: Any = latest
    where: sa.ColumnElement[bool] = latest.c.status.in_(CLOSED)
    is_linked = ticket_links.linked(latest.c.ticket_id)
    if opts.group_by == "agent":
        source = source.outerjoin(TicketOutcomeAgent, col(TicketOutcomeAgent.outcome_id) == latest.c.id)
        group: Any = sa.func.coalesce(col(TicketOutcomeAgent.agent_id), "-")
    elif opts.group_by == "team":
        if dialect == "postgresql":
            first = ticket_sql.first_teams(dialect)
            source = source.outerjoin(first, first.c.outcome_id == latest.c.id)
            first_team: Any = first.c.team
        else:  # a correlated probe of the (outcome, agent) key: SQLite scans a joined derived table per row
            first_team = ticket_sql.first_team(latest.c.id)
        group = sa.func.coalesce(sa.func.nullif(latest.c.team, ""), first_team, "-")
        if opts.team is not None:
            where = sa.and_(where, group == opts.team)
    elif opts.group_by == "channel":
        group = _or_dash(latest.c.channel)
    else:
        group = sa.literal("all")
    inner = (
        sa.select(group.label("grp"), _period(session, latest.c.occurred_at, opts).label("period"))
        .add_columns(sa.case((is_linked, 1), else_=0).label("linked"))
        .select_from(source)
        .where(where)
    )
    return tables.link_rate_table(_labelled(_grouped(session, inner, "linked"), opts))


def _suggestion_cells(
    session: Session, opts: Options, source: Any, created: Any, agent_id: Any, channel: Any, where: Any
) -> dict[tuple[str, Any], list[int]]:
    """Suggestions per (group, period) of ``source`` rows (suggestions, or used ones) that satisfy ``where``."""
    if opts.group_by == "team" and opts.team not in (None, "-"):
        # One team's rows only: its agents' ids as a set, so the rows are read by agent (an index where the
        # table has one) instead of joining every row of the month to its agent (0.35 s of SQLite CPU).
        members = sa.select(col(Agent.agent_id)).where(col(Agent.active), col(Agent.team) == opts.team)
        where = sa.and_(where, agent_id.in_(members))
        group: Any = sa.literal(opts.team)
    elif opts.group_by == "team":
        active = sa.and_(col(Agent.agent_id) == agent_id, col(Agent.active))
        source = sa.outerjoin(source, Agent, active)
        group = _or_dash(col(Agent.team))
        if opts.team is not None:  # "-": agents without a team, inactive or unknown
            where = sa.and_(where, group == opts.team)
    elif opts.group_by == "agent":
        group = _or_dash(agent_id)
    elif opts.group_by == "channel":
        group = _or_dash(channel)
    else:
        group = sa.literal("all")
    if _dialect(session) == "sqlite" and buckets.on_whole_hours(opts.zone):
        # Counted per UTC hour first, the period computed once per hour: SQLite's date() with the zone's offset
        # per suggestion was most of adoption's time (0.11 s of 0.2 per query on a month).
        hour = sa.func.substr(created, 1, 13).concat(":00:00.000000")  # a stored time, as the period reads it
        rows = sa.select(group.label("grp"), hour.label("hour")).select_from(source).where(where).subquery("rows")
        hours = (
            sa.select(rows.c.grp, rows.c.hour, sa.func.count().label("n"))
            .group_by(rows.c.grp, rows.c.hour)
            .subquery("hours")
        )
        period = _period(session, hours.c.hour, opts).label("period")
        query = sa.select(hours.c.grp, period, sa.func.sum(hours.c.n)).group_by(hours.c.grp, period)
        return {(str(g), p): [int(n or 0)] for g, p, n in session.connection().execute(query)}
    inner = (
        sa.select(group.label("grp"), _period(session, created, opts).label("period")).select_from(source).where(where)
    )
    return _grouped(session, inner)


def adoption(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.adoption`` counted in SQL: the range's suggestions, and its used ones from their kept rows.

    Two counts rather than one probe per suggestion: the used suggestions (``suggestion_uses``) carry
    the suggestion's time, agent and channel, so they group as the suggestions do.
    """
    asked = _suggestion_cells(
        session, opts, Suggestion, col(Suggestion.created_at), col(Suggestion.agent_id), col(Suggestion.channel),
        in_range(col(Suggestion.created_at), since, until),
    )  # fmt: skip
    created = col(SuggestionUse.created_at)
    used = _suggestion_cells(
        session, opts, SuggestionUse, created, col(SuggestionUse.agent_id), col(SuggestionUse.channel),
        sa.and_(in_range(created, since, until), suggestion_uses.used_in(since, until)),
    )  # fmt: skip
    cells = {key: [n, used.get(key, [0])[0]] for key, (n,) in asked.items()}
    return tables.adoption_table(_labelled(cells, opts))


def adoption_by_rank(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.adoption_by_rank`` counted in SQL."""
    del opts
    order = (col(UsageEvent.occurred_at), col(UsageEvent.id))
    position = sa.func.row_number().over(partition_by=col(UsageEvent.suggestion_id), order_by=order)
    ranked = (
        sa.select(col(UsageEvent.rank), position.label("pos"))
        .where(
            col(UsageEvent.type).in_(USE_TYPES),
            col(UsageEvent.suggestion_id).is_not(None),
            col(UsageEvent.suggestion_id) != "",
            col(UsageEvent.rank).is_not(None),
            event_range(since, until),
        )
        .subquery("ranked_uses")
    )
    query = sa.select(ranked.c.rank, sa.func.count()).where(ranked.c.pos == 1).group_by(ranked.c.rank)
    return tables.adoption_by_rank_table({int(r): int(n) for r, n in session.connection().execute(query)})


def _pairs(session: Session, since: datetime | None, until: datetime | None) -> sa.Subquery:
    """(suggestion, article) pairs of the events in the range: the furthest stage reached, and the ticket."""
    del session
    return rollup.pairs(since, until)


def _solved_pair(
    session: Session, pairs: sa.Subquery, opts: Options, since: datetime | None, until: datetime | None
) -> tuple[Any, sa.ColumnElement[bool]]:
    """``pairs`` as a source, and the condition that a pair was linked on a solved ticket."""
    solved = ticket_sql.solved_tickets(ticket_latest.latest_in(since, until), opts.window_days, _dialect(session))
    source, is_solved = _member(pairs, pairs.c.ticket_id, solved, _dialect(session))
    return source, sa.and_(pairs.c.stage == STAGE_OF["linked"], is_solved)


def funnel(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.funnel`` counted in SQL: pairs by their furthest stage, solved from the ticket's outcomes."""
    pairs = _pairs(session, since, until)
    source, solved = _solved_pair(session, pairs, opts, since, until)
    reached = sa.case((solved, STAGE_OF["linked"] + 1), else_=pairs.c.stage)
    inner = sa.select(pairs.c.article_id, reached.label("reached")).select_from(source).subquery("reached")
    query = sa.select(inner.c.article_id, inner.c.reached, sa.func.count()).group_by(
        inner.c.article_id, inner.c.reached
    )
    per_article: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL))
    for article_id, stage_reached, n in session.connection().execute(query):
        for i in range(int(stage_reached) + 1):  # a later stage implies the earlier ones
            per_article[str(article_id)][i] += int(n)
    return tables.funnel_table(per_article, opts.window_days)


def funnel_overall(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """The overall row of :func:`funnel` alone, as one row of sums (what the dashboard's funnel chart plots).

    Without the per-article rows there is no GROUP BY on the pairs: SQLite sorted ~300,000 pairs
    for it and evaluated the solved-ticket list once per use of the grouped expression.
    """
    pairs = _pairs(session, since, until)
    if _dialect(session) == "postgresql":
        # The month's pairs once (a CTE read twice), the solved tickets joined to the linked pairs alone: joined
        # to all ~300,000, PostgreSQL (misjudging the pairs' count) sorted them for a merge join, 0.4 s.
        kept = pairs.element.cte("pair_rows")
        solved = ticket_sql.solved_tickets(ticket_latest.latest_in(since, until), opts.window_days, "postgresql")
        linked_solved = (
            sa.select(sa.func.count())
            .select_from(kept.join(solved, solved.c.ticket_id == kept.c.ticket_id))
            .where(kept.c.stage == STAGE_OF["linked"])
            .scalar_subquery()
        )
        at_least = [sa.func.sum(sa.case((kept.c.stage >= i, 1), else_=0)) for i in range(1, STAGE_OF["linked"] + 1)]
        query = sa.select(sa.func.count(), *at_least, linked_solved).select_from(kept)
    else:
        source, is_solved = _solved_pair(session, pairs, opts, since, until)
        at_least = [sa.func.sum(sa.case((pairs.c.stage >= i, 1), else_=0)) for i in range(1, STAGE_OF["linked"] + 1)]
        query = sa.select(sa.func.count(), *at_least, sa.func.sum(sa.case((is_solved, 1), else_=0)))
        query = query.select_from(source)
    overall = [int(n or 0) for n in session.connection().execute(query).one()]
    return tables.funnel_overall_table(overall, opts.window_days)


def reuse(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.reuse`` counted in SQL: new when the ticket was seen before the article was first served."""
    del opts
    links = ticket_links.net_links(since, until)
    first_seen = col(ArticleSeen.first_seen_at)
    source = links.outerjoin(ArticleSeen, col(ArticleSeen.article_id) == links.c.article_id)
    if _dialect(session) == "postgresql":
        starts = ticket_sql.ticket_starts(since, until)
        source = source.outerjoin(starts, starts.c.ticket_id == links.c.ticket_id)
        seen_before: sa.ColumnElement[bool] = starts.c.start < first_seen
    else:  # indexed probes: SQLite scans a joined derived table once per row
        seen_before = ticket_sql.seen_before(links.c.ticket_id, first_seen, since, until)
    # Sums, not a GROUP BY on the kind: SQLite evaluated the grouped CASE, and its probes, twice per link.
    unknown = sa.func.sum(sa.case((first_seen.is_(None), 1), else_=0))
    new = sa.func.sum(sa.case((sa.and_(first_seen.is_not(None), seen_before), 1), else_=0))
    total, unknowns, news = (int(n or 0) for n in session.connection().execute(
        sa.select(sa.func.count(), unknown, new).select_from(source)
    ).one())  # fmt: skip
    return tables.reuse_table({"reuse": total - unknowns - news, "new": news, "unknown": unknowns})


def reuse_distribution(*, session: Session, opts: Options, since: datetime | None, until: datetime | None) -> Table:
    """``analytics.reuse_distribution`` counted in SQL."""
    del opts
    links = ticket_links.net_links(since, until)
    query = sa.select(links.c.article_id, sa.func.count()).group_by(links.c.article_id)
    return tables.reuse_distribution_table({str(a): int(n) for a, n in session.connection().execute(query)})


Report = Callable[..., Table]
REPORTS: dict[str, Report] = {
    "link-rate": link_rate,
    "adoption": adoption,
    "adoption-by-rank": adoption_by_rank,
    "funnel": funnel,
    "funnel-overall": funnel_overall,
    "reuse": reuse,
    "reuse-distribution": reuse_distribution,
}
