"""The usage reports as pure functions of :class:`~service.usage.facts.Facts` (definitions in docs/usage.md).

Each report returns a :class:`Table` that states its own definition, so a figure is never
shown without what it counts. Ticket-level definitions (closed, solved, links, start) are in
``service.usage.tickets``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from service.usage import tables
from service.usage.facts import Facts
from service.usage.models import FUNNEL, USE_TYPES
from service.usage.periods import bucket
from service.usage.tables import GroupBy as GroupBy
from service.usage.tables import Options as Options
from service.usage.tables import Table as Table
from service.usage.tables import ratio as _ratio
from service.usage.tickets import net_links, ticket_starts, ticket_states


def link_rate(facts: Facts, opts: Options) -> Table:
    """KB usage (link) rate per period and group, with the change from the group's previous period."""
    states = ticket_states(facts.outcomes, opts.window_days)
    links = net_links(facts.events)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for state in states.values():
        if not state.closed:
            continue
        groups = {
            "all": ["all"],
            "team": [state.team or _team_of(state.agent_ids, facts.agents)],
            "channel": [state.channel or "-"],
            "agent": list(state.agent_ids) or ["-"],
        }[opts.group_by]
        for group in filter(opts.keeps, groups):
            cell = counts[(group, bucket(state.at, opts.period, opts.zone))]
            cell[0] += 1
            cell[1] += state.ticket_id in links
    return tables.link_rate_table(counts)


def _team_of(agent_ids: tuple[str, ...], teams: Mapping[str, str | None]) -> str:
    return next((t for a in agent_ids if (t := teams.get(a))), "-")


def adoption(facts: Facts, opts: Options) -> Table:
    """Share of suggestions with at least one copied, inserted or linked result."""
    used = facts.used_suggestions
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for s in facts.suggestions:
        group = {
            "all": "all",
            "agent": s.agent_id or "-",
            "channel": s.channel or "-",
            "team": facts.agents.get(s.agent_id or "") or "-",
        }[opts.group_by]
        if not opts.keeps(group):
            continue
        cell = counts[(group, bucket(s.created_at, opts.period, opts.zone))]
        cell[0] += 1
        cell[1] += s.id in used
    return tables.adoption_table(counts)


def adoption_by_rank(facts: Facts, _opts: Options) -> Table:
    """Which rank the used result had: the first use of each suggestion, by the 1-based rank of its article."""
    first: dict[str, int] = {}
    for e in facts.events:
        if e.type in USE_TYPES and e.suggestion_id and e.rank is not None:
            first.setdefault(e.suggestion_id, e.rank)
    return tables.adoption_by_rank_table(Counter(first.values()))


def funnel(facts: Facts, opts: Options) -> Table:
    """The funnel over (suggestion, article) pairs, overall and per article."""
    states = ticket_states(facts.outcomes, opts.window_days)
    per_article: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL))
    for pair in facts.pairs:
        stage = pair.stage
        if stage == 3 and pair.ticket_id is not None and pair.ticket_id in states and states[pair.ticket_id].solved:
            stage = 4
        row = per_article[pair.article_id]
        for i in range(stage + 1):
            row[i] += 1
    return tables.funnel_table(per_article, opts.window_days)


def reuse(facts: Facts, _opts: Options) -> Table:
    """Links to articles that existed before the ticket (reuse) vs articles first served after it started (new)."""
    starts = ticket_starts(facts.events, facts.outcomes, facts.suggestions)
    kinds: Counter[str] = Counter()
    for ticket, articles in net_links(facts.events).items():
        for article in articles:
            seen = facts.articles_seen.get(article)
            kinds["unknown" if seen is None else "reuse" if seen <= starts[ticket] else "new"] += 1
    return tables.reuse_table(kinds)


def reuse_distribution(facts: Facts, _opts: Options) -> Table:
    """How reuse spreads over articles: articles by number of tickets linking them, and their share of links."""
    linking = Counter(a for articles in net_links(facts.events).values() for a in articles)
    return tables.reuse_distribution_table(linking)


def articles(facts: Facts, _opts: Options, review_by: Mapping[str, str | None], today: date) -> Table:
    """Per article: uses, helpful ratio, open flags, last use, stale, the index versions it was served from."""
    uses: Counter[str] = Counter()
    votes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    last: dict[str, datetime] = {}
    for c in facts.article_counts:
        if c.type in USE_TYPES:
            uses[c.article_id] += c.count
            last[c.article_id] = max(last.get(c.article_id, c.last), c.last)
        elif c.type in ("helpful", "not_helpful"):
            votes[c.article_id][c.type == "not_helpful"] += c.count
    ids = sorted(
        set(uses) | set(votes) | set(facts.open_flags) | set(facts.article_versions), key=lambda a: (-uses[a], a)
    )
    rows = []
    for a in ids:
        helpful, not_helpful = votes[a]
        due = review_by.get(a)
        rows.append(
            (
                a,
                uses[a],
                helpful,
                not_helpful,
                _ratio(helpful, helpful + not_helpful),
                len(facts.open_flags.get(a, [])),
                last[a].isoformat() if a in last else None,
                due is not None and due < today.isoformat(),
                ",".join(sorted(facts.article_versions.get(a, ()))),
            )
        )
    definition = (
        "uses = copied, inserted and linked events; helpful_ratio = helpful ÷ (helpful + not_helpful); "
        "stale = review_by has passed in the serving build"
    )
    return Table(
        "articles",
        definition,
        (
            "article_id",
            "uses",
            "helpful",
            "not_helpful",
            "helpful_ratio",
            "open_flags",
            "last_use",
            "stale",
            "index_versions",
        ),
        rows,
    )


def flags(facts: Facts, _opts: Options) -> Table:
    """Open flags per article, with their (masked) comments."""
    rows = [
        (a, len(c), " | ".join(x for x in c if x))
        for a, c in sorted(facts.open_flags.items(), key=lambda i: -len(i[1]))
    ]
    return Table(
        "flags",
        "open flags per article (flag it or fix it: each needs an editor to resolve it)",
        ("article_id", "open_flags", "comments"),
        rows,
    )


def participation(facts: Facts, _opts: Options) -> Table:
    """Per agent: suggestions asked, articles used, links, flags raised; and the share of agents who link or flag."""
    c = facts.agent_counts
    agents = sorted(set(facts.agents) | set(c.asked) | set(c.articles_used) | set(c.links) | set(c.flags))
    rows: list[tuple[Any, ...]] = []
    for a in agents:
        links, raised = c.links.get(a, 0), c.flags.get(a, 0)
        team = facts.agents.get(a) or "-"
        rows.append((a, team, c.asked.get(a, 0), c.articles_used.get(a, 0), links, raised, links > 0 or raised > 0))
    participating = sum(1 for r in rows if r[-1])
    total = ("ALL", "-", sum(c.asked.values()), c.articles_used_total, sum(c.links.values()), sum(c.flags.values()))
    rows.append((*total, _ratio(participating, len(agents))))
    definition = (
        "participating = the agent linked or flagged at least one article in the range; the ALL row's "
        "last column is the participation rate (participating ÷ active agents and agents seen)"
    )
    return Table(
        "participation",
        definition,
        ("agent_id", "team", "suggestions", "articles_used", "links", "flags", "participating"),
        rows,
    )


REPORTS: dict[str, Callable[[Facts, Options], Table]] = {
    "link-rate": link_rate,
    "adoption": adoption,
    "adoption-by-rank": adoption_by_rank,
    "funnel": funnel,
    "reuse": reuse,
    "reuse-distribution": reuse_distribution,
    "flags": flags,
    "participation": participation,
}
