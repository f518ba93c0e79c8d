"""Facts → credits: pure functions from what happened to the ledger entries it earns (no database).

Each :class:`Credit` carries a ``fact_key`` naming the fact it rewards, e.g.
``citation:{ticket}:{article}:{author}``. The ledger holds at most one standing credit per
fact key: settling compares the credits the facts call for now with the standing ones and
writes the difference (new credits, and reversals of credits the facts no longer support).
That is what makes a reopen reverse a ticket's credits, a re-resolve credit them again, and
re-runs, several workers and replicas write nothing twice.

Anti-gaming lives here too: no credit to the agent who linked or voted (self-citation,
self-vote), a vote only from an agent shown the article, one citation per (article, ticket),
publication once per content version. Daily caps need the ledger and are applied when writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.credits.rules import Rules

CLOSED = ("resolved", "closed")
TICKET_RULES = ("citation", "csat", "complex_issue")


@dataclass(frozen=True, slots=True)
class Credit:
    """A credit the facts call for, before it is written."""

    fact_key: str
    agent_id: str
    points: int
    rule_id: str
    reason: str
    article_id: str | None = None
    content_hash: str | None = None
    ticket_id: str | None = None
    event_id: int | None = None
    outcome_id: int | None = None
    flag_id: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome of a ticket."""

    id: int
    status: str
    occurred_at: datetime
    csat: int | None = None
    complexity: str | None = None
    agent_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    """A linked/unlinked event on a ticket."""

    event_id: int
    type: str
    article_id: str
    agent_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Version:
    """An article's content version as a build served it."""

    article_id: str
    content_hash: str
    authors: tuple[str, ...]
    chars: int
    tags: tuple[str, ...] = ()
    gap: str | None = None


@dataclass(slots=True)
class _Cycle:
    """Closing outcomes between two reopens."""

    previous: _Cycle | None
    outcomes: list[Outcome] = field(default_factory=list)


def credited_cycle(outcomes: list[Outcome], window_days: int) -> list[Outcome]:
    """The closing outcomes whose credits stand: the latest resolve/close run not reopened within the window.

    A reopen within ``window_days`` of the run's last close voids the run (its credits are
    reversed) and the run before it stands again; a later reopen leaves the run standing.
    """
    window = timedelta(days=window_days)
    credited: _Cycle | None = None
    cycle: _Cycle | None = None
    for o in sorted(outcomes, key=lambda o: (o.occurred_at, o.id)):
        if o.status in CLOSED:
            if cycle is None:
                cycle = _Cycle(credited)
            cycle.outcomes.append(o)
            credited = cycle
        elif o.status == "reopened":
            if cycle is not None and o.occurred_at - cycle.outcomes[-1].occurred_at <= window:
                credited = cycle.previous
            cycle = None
    return credited.outcomes if credited else []


def net_links(links: list[Link], until: datetime | None) -> dict[str, Link]:
    """Articles still linked at ``until`` (None: now), each with the link event that made it."""
    state: dict[str, Link] = {}
    for link in sorted(links, key=lambda x: (x.occurred_at, x.event_id)):
        if until is not None and link.occurred_at > until:
            break
        if link.type == "linked":
            state.setdefault(link.article_id, link)
        elif link.type == "unlinked":
            state.pop(link.article_id, None)
    return state


def ticket_credits(
    ticket_id: str,
    outcomes: list[Outcome],
    links: list[Link],
    versions: dict[str, Version],
    rules: Rules,
    window_days: int,
) -> list[Credit]:
    """The citation, CSAT and complexity credits a ticket's history calls for now.

    Citations: each article linked (and not unlinked) on the standing run's tickets, to each of
    its authors other than the linking agent. CSAT and complexity: the run's latest score and
    level, to each handling agent.
    """
    run = credited_cycle(outcomes, window_days)
    if not run:
        return []
    last = run[-1]
    credits: list[Credit] = []
    citation = rules.get("citation")
    if citation is not None and citation.points:
        for article_id, link in sorted(net_links(links, None).items()):
            version = versions.get(article_id)
            for author in version.authors if version else ():
                if author == link.agent_id:
                    continue
                credits.append(
                    Credit(
                        f"citation:{ticket_id}:{article_id}:{author}",
                        author,
                        citation.points,
                        "citation",
                        f"article {article_id} linked by {link.agent_id} on ticket {ticket_id}, resolved",
                        article_id=article_id,
                        content_hash=version.content_hash if version else None,
                        ticket_id=ticket_id,
                        event_id=link.event_id,
                        outcome_id=last.id,
                    )
                )
    agents = tuple(dict.fromkeys(a for o in run for a in o.agent_ids))
    scored = [o for o in run if o.csat is not None]
    csat = rules.get("csat")
    if csat is not None and scored:
        score = scored[-1].csat
        points = int(csat.params["points_by_score"].get(score, 0))
        for agent in agents if points else ():
            reason = f"CSAT {score} on resolved ticket {ticket_id}"
            credits.append(
                Credit(
                    f"csat:{ticket_id}:{agent}",
                    agent,
                    points,
                    "csat",
                    reason,
                    ticket_id=ticket_id,
                    outcome_id=scored[-1].id,
                )
            )
    # The level describes the ticket, not one resolution: a re-resolve that omits it keeps the earlier one.
    levelled = [
        o
        for o in sorted(outcomes, key=lambda o: (o.occurred_at, o.id))
        if o.complexity and o.occurred_at <= last.occurred_at
    ]
    complex_rule = rules.get("complex_issue")
    if complex_rule is not None and levelled:
        level = levelled[-1].complexity
        points = int(complex_rule.params["points_by_level"].get(level, 0))
        for agent in agents if points else ():
            reason = f"resolved {level} ticket {ticket_id}"
            credits.append(
                Credit(
                    f"complex:{ticket_id}:{agent}",
                    agent,
                    points,
                    "complex_issue",
                    reason,
                    ticket_id=ticket_id,
                    outcome_id=levelled[-1].id,
                )
            )
    return credits


def vote_credits(
    *, event_id: int, voter: str, article_id: str, shown: bool, version: Version | None, rules: Rules
) -> list[Credit]:
    """A helpful vote: to each author but the voter, only when the voter was shown the article; one per voter."""
    rule = rules.get("helpful_vote")
    if rule is None or not rule.points or not shown or version is None:
        return []
    return [
        Credit(
            f"vote:{article_id}:{voter}:{author}",
            author,
            rule.points,
            "helpful_vote",
            f"{voter} found article {article_id} helpful",
            article_id=article_id,
            content_hash=version.content_hash,
            event_id=event_id,
        )
        for author in version.authors
        if author != voter
    ]


def flag_credits(*, flag_id: int, article_id: str, raiser: str, editor: str | None, rules: Rules) -> list[Credit]:
    """A flag an editor resolved: the raiser for the confirmed flag, the editor for the fix (never both to one).

    ``editor`` is None when the flag was resolved by a key that names no agent (nobody to credit for the fix).
    """
    credits = []
    confirmed, fixed = rules.get("flag_confirmed"), rules.get("flag_fixed")
    if confirmed is not None and confirmed.points and raiser != editor:
        reason = f"flag {flag_id} on article {article_id} confirmed by {editor}"
        credits.append(
            Credit(
                f"flag:{flag_id}:raised",
                raiser,
                confirmed.points,
                "flag_confirmed",
                reason,
                article_id=article_id,
                flag_id=flag_id,
            )
        )
    if fixed is not None and fixed.points and editor is not None:
        reason = f"fixed flag {flag_id} on article {article_id} raised by {raiser}"
        credits.append(
            Credit(
                f"flag:{flag_id}:fixed",
                editor,
                fixed.points,
                "flag_fixed",
                reason,
                article_id=article_id,
                flag_id=flag_id,
            )
        )
    return credits


def update_points(change: int, rules: Rules) -> int:
    """Points for a change of ``change`` characters (0 under the minimum), capped at max_points."""
    rule = rules.get("article_updated")
    if rule is None or change < rule.params["min_change_chars"]:
        return 0
    return min(int(rule.params["max_points"]), int(rule.params["points_per_100_chars"]) * change // 100)


def publication_credits(version: Version, previous: Version | None, rules: Rules) -> list[Credit]:
    """A content version served for the first time: publication (new article) or update (changed one).

    Called once per (article, content hash) ever seen, so editing back to an earlier version earns nothing.
    """
    credits: list[Credit] = []
    base = version.article_id, version.content_hash
    if previous is None:
        rule, points = rules.get("article_published"), 0
        points = rule.points if rule else 0
        rule_id, why = "article_published", f"published article {version.article_id}"
    else:
        change = abs(version.chars - previous.chars)
        points, rule_id = update_points(change, rules), "article_updated"
        why = f"updated article {version.article_id} ({change} characters changed)"
    for author in version.authors if points else ():
        credits.append(Credit(f"{rule_id}:{base[0]}:{base[1]}:{author}", author, points, rule_id, why, *base))
    return credits
