"""Checking and explaining the ledger: ``credits verify`` and ``credits explain``."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlmodel import Session, col, select

from service.credits import crud
from service.credits.models import ArticleVersion, CreditBalance, CreditEntry
from service.usage import gap_records
from service.usage.models import Flag, TicketOutcome, UsageEvent

GAP_FACTS = ("id", "title", "status", "size", "recorded_by", "recorded_at", "closed_by_article", "closed_at")


def verify(*, session: Session) -> list[str]:
    """Every inconsistency in the ledger (an empty list when it is sound).

    Checks: each balance row equals the sum of its agent's entries (and every agent with entries
    has one); no idempotency key repeats; each reversal points at an existing entry of the same
    agent, reverses it at most once and by no more than its points; no balance is negative.
    """
    problems: list[str] = []
    entries = session.exec(select(CreditEntry).order_by(col(CreditEntry.id))).all()
    by_id = {e.id: e for e in entries}
    sums: dict[str, int] = defaultdict(int)
    for e in entries:
        sums[e.agent_id] += e.points
    balances = {b.agent_id: b.balance for b in session.exec(select(CreditBalance))}
    for agent in sorted(set(sums) | set(balances)):
        if balances.get(agent) != sums.get(agent, 0):
            problems.append(f"agent {agent}: balance {balances.get(agent)} != sum of entries {sums.get(agent, 0)}")
        if sums.get(agent, 0) < 0 or balances.get(agent, 0) < 0:
            problems.append(f"agent {agent}: negative balance ({sums.get(agent, 0)})")
    for key, n in Counter(e.idempotency_key for e in entries).items():
        if n > 1:
            problems.append(f"idempotency key {key!r} used by {n} entries")
    for ref, n in Counter(e.reverses_id for e in entries if e.reverses_id is not None).items():
        if n > 1:
            problems.append(f"entry {ref} reversed {n} times")
    for e in entries:
        if e.reverses_id is None:
            continue
        target = by_id.get(e.reverses_id)
        if target is None:
            problems.append(f"entry {e.id} reverses entry {e.reverses_id}, which does not exist")
        elif target.agent_id != e.agent_id:
            problems.append(f"entry {e.id} reverses entry {target.id} of another agent ({target.agent_id})")
        elif target.reverses_id is not None or abs(e.points) > abs(target.points) or e.points * target.points > 0:
            problems.append(f"entry {e.id} is not a reversal of entry {target.id} ({e.points} vs {target.points})")
    return problems


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def explain(*, session: Session, entry_id: int) -> dict[str, Any] | None:
    """An entry with the facts that produced it: event, outcome, flag, article version, the gap it names, chain."""
    entry = crud.get_entry(session=session, entry_id=entry_id)
    if entry is None:
        return None
    facts: dict[str, Any] = {}
    if entry.event_id is not None and (event := session.get(UsageEvent, entry.event_id)) is not None:
        facts["event"] = _row(event, ("event_id", "type", "article_id", "agent_id", "ticket_id", "occurred_at"))
    if entry.outcome_id is not None and (outcome := session.get(TicketOutcome, entry.outcome_id)) is not None:
        facts["outcome"] = _row(outcome, ("id", "ticket_id", "status", "csat", "complexity", "team", "occurred_at"))
    if entry.flag_id is not None and (flag := session.get(Flag, entry.flag_id)) is not None:
        facts["flag"] = _row(flag, ("id", "article_id", "agent_id", "status", "resolved_by", "resolved_at"))
    if entry.article_id and entry.content_hash:
        version = session.get(ArticleVersion, (entry.article_id, entry.content_hash))
        if version is not None:
            facts["article_version"] = _row(
                version, ("article_id", "content_hash", "authors", "chars", "index_version", "gap_id")
            )
            gap = gap_records.get_gap(session=session, gap_id=version.gap_id) if version.gap_id else None
            if gap is not None:
                facts["gap"] = _row(gap, GAP_FACTS)
    reversal = crud.reversal_of(session=session, entry_id=entry_id)
    return {
        "entry": entry.model_dump(exclude={"payload_hash"}),
        "facts": facts,
        "reverses": entry.reverses_id,
        "reversed_by": reversal.id if reversal else None,
    }
