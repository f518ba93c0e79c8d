"""The settle step: new usage facts since a cursor → credits and reversals, written idempotently.

Usage never calls the ledger (it may not import it); instead settling reads the usage tables.
It runs on a timer in the service (``KB_CREDITS_SETTLE_SECONDS``), on ``GET /v1/credits/me``,
on a build swap, and as ``kbassist credits sync``. Each run re-derives the credits of every
ticket, vote and flag touched since the cursors, under one lock (see
:func:`service.credits.crud.ledger_transaction`), so runs on several workers or replicas
are serial and their deterministic keys write nothing twice.

The cursors are row ids, but a PostgreSQL row with a lower id can commit after one with a
higher id; rows created in the last :data:`LOOKBACK` are therefore read again (harmless, as
re-deriving a fact writes nothing new).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from indexer.article import GAP_ID_RE
from service.credits import crud
from service.credits.earn import (
    TICKET_RULES,
    Credit,
    Link,
    Outcome,
    Version,
    credited_cycle,
    flag_credits,
    publication_credits,
    ticket_credits,
    vote_credits,
)
from service.credits.gap_bonus import GapFact, gap_bonus
from service.credits.ledger import reconcile
from service.credits.models import ArticleVersion, CreditEntry
from service.credits.rules import Rules
from service.db import utcnow
from service.usage import gap_records
from service.usage.crud import outcome_agents
from service.usage.models import Flag, TicketOutcome, UsageEvent
from service.usage.periods import as_utc

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=1)
TICKETS_PER_TRANSACTION = 20
EVENTS, OUTCOMES = "usage_events", "ticket_outcomes"
# How usage records a flag resolved by a key without an agent (service.usage.routes.resolve_flag).
KEY_EDITOR = "key:"


@dataclass(frozen=True, slots=True)
class Settled:
    """What one settle run looked at and wrote."""

    tickets: int
    votes: int
    flags: int
    entries: int


def _versions(session: Session) -> dict[str, Version]:
    latest: dict[str, Version] = {}
    query = select(ArticleVersion).order_by(col(ArticleVersion.first_seen_at))
    for v in session.exec(query):
        latest[v.article_id] = Version(v.article_id, v.content_hash, tuple(v.authors), v.chars, tuple(v.tags), v.gap_id)
    return latest


def _reversal_reason(ticket_id: str, standing: bool, window_days: int) -> Callable[[CreditEntry], str]:
    if not standing:
        cause = f"ticket {ticket_id} reopened within {window_days} days of its resolution"
    else:
        cause = f"ticket {ticket_id}'s facts changed (article unlinked, or a new CSAT score or level)"

    def why(entry: CreditEntry) -> str:
        return f"reversal of entry {entry.id}: {cause}"

    return why


def _settle_tickets(
    session: Session, ticket_ids: set[str], versions: dict[str, Version], rules: Rules, zone: ZoneInfo, window: int
) -> int:
    written = 0
    for ticket_id in sorted(ticket_ids):
        rows = session.exec(select(TicketOutcome).where(TicketOutcome.ticket_id == ticket_id)).all()
        agents = outcome_agents(session=session, outcome_ids=[o.id for o in rows if o.id is not None])
        outcomes = [
            Outcome(o.id, o.status, o.occurred_at, o.csat, o.complexity, tuple(agents[o.id]))
            for o in rows
            if o.id is not None
        ]
        events = session.exec(
            select(UsageEvent).where(
                UsageEvent.ticket_id == ticket_id, col(UsageEvent.type).in_(("linked", "unlinked"))
            )
        ).all()
        links = [Link(e.id, e.type, e.article_id, e.agent_id, e.occurred_at) for e in events if e.id is not None]
        desired = ticket_credits(ticket_id, outcomes, links, versions, rules, window)
        existing = [
            e for e in crud.ticket_entries(session=session, ticket_ids=[ticket_id]) if e.rule_id in TICKET_RULES
        ]
        written += reconcile(
            session=session,
            desired=desired,
            existing=existing,
            rules=rules,
            zone=zone,
            reversal_reason=_reversal_reason(ticket_id, bool(credited_cycle(outcomes, window)), window),
        )
    return written


def _settle_votes(
    session: Session, votes: list[UsageEvent], versions: dict[str, Version], rules: Rules, zone: ZoneInfo
) -> int:
    desired = []
    for vote in votes:
        assert vote.id is not None
        shown = session.exec(
            select(UsageEvent.id).where(
                UsageEvent.agent_id == vote.agent_id,
                UsageEvent.article_id == vote.article_id,
                UsageEvent.type == "shown",
            )
        ).first()
        desired += vote_credits(
            event_id=vote.id,
            voter=vote.agent_id,
            article_id=vote.article_id,
            shown=shown is not None,
            version=versions.get(vote.article_id),
            rules=rules,
        )
    existing = crud.fact_entries(session=session, fact_keys=[c.fact_key for c in desired])
    return reconcile(session=session, desired=desired, existing=existing, rules=rules, zone=zone)


def _settle_flags(session: Session, rules: Rules, zone: ZoneInfo) -> tuple[int, int]:
    credited = select(CreditEntry.flag_id).where(col(CreditEntry.flag_id).is_not(None))
    flags = session.exec(select(Flag).where(Flag.status == "resolved", col(Flag.id).not_in(credited))).all()
    desired = []
    for flag in flags:
        assert flag.id is not None and flag.resolved_by is not None
        desired += flag_credits(
            flag_id=flag.id,
            article_id=flag.article_id,
            raiser=flag.agent_id,
            editor=None if flag.resolved_by.startswith(KEY_EDITOR) else flag.resolved_by,
            rules=rules,
        )
    existing = crud.fact_entries(session=session, fact_keys=[c.fact_key for c in desired])
    return len(flags), reconcile(session=session, desired=desired, existing=existing, rules=rules, zone=zone)


def settle(*, session: Session, rules: Rules, window_days: int, zone: ZoneInfo) -> Settled:
    """Credit and reverse what the usage facts since the cursors call for, in short serialised transactions.

    The tickets are settled :data:`TICKETS_PER_TRANSACTION` at a time, each batch in its own
    transaction under the settle lock: a credit locks its agent's balance row until the commit, and
    one transaction over every ticket touched in :data:`LOOKBACK` held the balances of all active
    agents for the whole run (over 20 s on a loaded 2-core machine in ``bench/soak.py``), so their
    redemptions waited past a client's 30 s timeout. Re-deriving a ticket is idempotent, so a run
    cut between batches (or interleaved with another replica's) writes nothing twice; the cursors
    move only after the last batch.
    """
    with crud.ledger_transaction(session, settle=True):
        recent = utcnow() - LOOKBACK
        event_from, outcome_from = (
            crud.cursor(session=session, name=EVENTS),
            crud.cursor(session=session, name=OUTCOMES),
        )
        kinds = ("linked", "unlinked", "helpful")
        events = session.exec(
            select(UsageEvent).where(
                col(UsageEvent.type).in_(kinds),
                or_(col(UsageEvent.id) > event_from, col(UsageEvent.created_at) >= recent),
            )
        ).all()
        outcomes = session.exec(
            select(TicketOutcome).where(
                or_(col(TicketOutcome.id) > outcome_from, col(TicketOutcome.created_at) >= recent)
            )
        ).all()
        tickets = {e.ticket_id for e in events if e.type != "helpful" and e.ticket_id} | {o.ticket_id for o in outcomes}
        votes = [e for e in events if e.type == "helpful"]
        # Every article version is a large read, and the timer runs on every worker when nothing happened.
        versions = _versions(session) if tickets or votes else {}
        event_to = max((e.id or 0 for e in events), default=None)
        outcome_to = max((o.id or 0 for o in outcomes), default=None)
        written = _settle_votes(session, votes, versions, rules, zone)
        flag_count, flag_written = _settle_flags(session, rules, zone)
        written += flag_written
    ordered = sorted(tickets)
    for start in range(0, len(ordered), TICKETS_PER_TRANSACTION):
        with crud.ledger_transaction(session, settle=True):
            batch = set(ordered[start : start + TICKETS_PER_TRANSACTION])
            written += _settle_tickets(session, batch, versions, rules, zone, window_days)
    if event_to is not None or outcome_to is not None:
        with crud.ledger_transaction(session, settle=True):
            if event_to is not None:
                crud.advance_cursor(session=session, name=EVENTS, position=event_to)
            if outcome_to is not None:
                crud.advance_cursor(session=session, name=OUTCOMES, position=outcome_to)
    return Settled(len(tickets), len(votes), flag_count, written)


def _named_gap(article_id: str, meta: Mapping[str, Any]) -> str | None:
    value = meta.get("gap")
    if not value:
        return None
    if not GAP_ID_RE.fullmatch(str(value)):  # the indexer refuses these; a hand-made build may not
        log.warning("article %s names gap %r, which is no gap id: ignored", article_id, value)
        return None
    return str(value)


def _gap_credits(
    session: Session, version: Version, previous: Version | None, now: datetime, rules: Rules
) -> list[Credit]:
    """The bonus of a new version naming a gap, closing the gap in the same transaction; says why when none."""
    if version.gap is None:
        return []
    row = gap_records.get_gap(session=session, gap_id=version.gap)
    fact = None
    if row is not None:
        fact = GapFact(row.id, row.title, row.status, as_utc(row.recorded_at), row.closed_by_article)
    bonus = gap_bonus(version, previous, fact, now, rules)
    if bonus is None:
        return []
    if not bonus.closes:
        log.log(logging.WARNING if bonus.warn else logging.INFO, "%s", bonus.note)
        return []
    closed = gap_records.close_gap(
        session=session, gap_id=version.gap, article_id=version.article_id, content_hash=version.content_hash, at=now
    )
    if not closed:  # not reachable under the settle lock; a gap is never paid twice whatever happens
        log.warning("gap %s was closed meanwhile: no gap bonus for article %s", version.gap, version.article_id)
        return []
    log.info("%s: gap closed", bonus.note)
    return bonus.credits


def record_build(
    *, session: Session, articles: Mapping[str, Mapping[str, Any]], index_version: str, rules: Rules, zone: ZoneInfo
) -> int:
    """Credit the authors of each content version ``articles`` serves for the first time; returns entries written.

    ``articles`` is a build's article metadata (with ``content_hash`` and ``body``), keyed by id. A
    version is recorded once per (article, content hash), so the same build loaded by several
    workers, a rollback to an earlier build, or an edit back to earlier text credits nothing again.
    A new version naming a recorded open gap (front matter ``gap:``) closes it and earns the
    ``gap_article`` bonus (:mod:`service.credits.gap_bonus`); one that earns nothing logs why.
    """
    with crud.ledger_transaction(session, settle=True):
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        versions = _versions(session)
        desired = []
        now = utcnow()
        for article_id, meta in sorted(articles.items()):
            version = Version(
                article_id,
                str(meta.get("content_hash") or ""),
                tuple(str(a) for a in meta.get("authors") or []),
                len(str(meta.get("body") or "")),
                tuple(str(t) for t in meta.get("tags") or []),
                _named_gap(article_id, meta),
            )
            if not version.content_hash:
                continue
            row = {
                "article_id": article_id,
                "content_hash": version.content_hash,
                "authors": list(version.authors),
                "tags": list(version.tags),
                "gap_id": version.gap,
                "chars": version.chars,
                "index_version": index_version,
                "first_seen_at": now,
            }
            statement = dialect.insert(ArticleVersion).values([row]).on_conflict_do_nothing()
            if not session.exec(statement.returning(ArticleVersion.article_id)).all():
                continue
            desired += publication_credits(version, versions.get(article_id), rules)
            desired += _gap_credits(session, version, versions.get(article_id), now, rules)
        existing = crud.fact_entries(session=session, fact_keys=[c.fact_key for c in desired])
        return reconcile(session=session, desired=desired, existing=existing, rules=rules, zone=zone)
