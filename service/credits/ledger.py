"""Writing the ledger: credits the facts call for, reversals, manual adjustments and redemptions.

Every function runs inside :func:`service.credits.crud.ledger_transaction` (the caller's) and
locks each agent's balance row before reading it, so a balance check and the entry it allows
are one serialised step per agent. A balance never goes negative: a debit the balance does not
cover is refused (:class:`InsufficientPoints`), and a reversal of points already spent reverses
only what is left (its reason says so).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from service.credits import crud
from service.credits.earn import Credit
from service.credits.models import CreditEntry
from service.credits.rules import MANUAL, REDEMPTION, Rules
from service.db import utcnow
from service.errors import IdempotencyConflict, InsufficientPoints, NotFound
from service.usage.crud import KeyReused
from service.usage.periods import day_start


def _entry(credit: Credit, key: str, rules: Rules) -> CreditEntry:
    return CreditEntry(
        agent_id=credit.agent_id,
        points=credit.points,
        rule_id=credit.rule_id,
        rules_version=rules.version,
        reason=credit.reason,
        fact_key=credit.fact_key,
        idempotency_key=key,
        payload_hash="",
        article_id=credit.article_id,
        content_hash=credit.content_hash,
        ticket_id=credit.ticket_id,
        event_id=credit.event_id,
        outcome_id=credit.outcome_id,
        flag_id=credit.flag_id,
    )


def reverse(
    *, session: Session, entry: CreditEntry, reason: str, rules: Rules, actor: str | None = None
) -> CreditEntry:
    """Append the reversal of ``entry`` (at most once: the key derives from the entry's own)."""
    assert entry.id is not None
    balance = crud.lock_balance(session=session, agent_id=entry.agent_id)
    points = -entry.points
    if entry.points > 0 and balance.balance < entry.points:
        points = -max(balance.balance, 0)
        reason += f" (only {-points} of {entry.points} points left to reverse: the rest was spent)"
    reversal = CreditEntry(
        agent_id=entry.agent_id,
        points=points,
        rule_id=entry.rule_id,
        rules_version=rules.version,
        reason=reason,
        fact_key=entry.fact_key,
        idempotency_key=f"reversal:{entry.idempotency_key}",
        payload_hash="",
        article_id=entry.article_id,
        content_hash=entry.content_hash,
        ticket_id=entry.ticket_id,
        event_id=entry.event_id,
        outcome_id=entry.outcome_id,
        flag_id=entry.flag_id,
        actor=actor,
        reverses_id=entry.id,
    )
    stored, _ = crud.append(session=session, entry=reversal, balance=balance)
    return stored


def _capped(session: Session, credit: Credit, rules: Rules, zone: ZoneInfo, now: datetime) -> bool:
    rule = rules.get(credit.rule_id)
    if rule is None or not rule.daily_cap:
        return False
    since = day_start(now.astimezone(zone).date(), zone)
    count = crud.rule_points_since(session=session, agent_id=credit.agent_id, rule_id=credit.rule_id, since=since)
    return count >= rule.daily_cap


def reconcile(
    *,
    session: Session,
    desired: Sequence[Credit],
    existing: Sequence[CreditEntry],
    rules: Rules,
    zone: ZoneInfo,
    reversal_reason: Callable[[CreditEntry], str] | None = None,
) -> int:
    """Write what ``desired`` adds to the standing credits among ``existing``; returns entries written.

    A fact's standing credit is its latest credit entry when no reversal points at it. A desired
    credit without one is appended under ``{fact_key}#{n}`` (n = credits the fact had before, so a
    re-credit after a reversal gets a new key and a concurrent duplicate the same one). With
    ``reversal_reason``, standing credits no longer desired (or with other points under the same rules
    version) are reversed.
    Credits over a rule's daily cap are not written (a later settle may write them).
    """
    reversed_ids = {e.reverses_id for e in existing if e.reverses_id is not None}
    history: dict[str, list[CreditEntry]] = defaultdict(list)
    for e in existing:
        if e.reverses_id is None:
            history[e.fact_key].append(e)
    standing = {k: v[-1] for k, v in history.items() if v[-1].id not in reversed_ids}
    want = {c.fact_key: c for c in desired}
    written = 0
    if reversal_reason is not None:
        for key, entry in sorted(standing.items()):
            credit = want.get(key)
            # Other points under the same rules mean other facts (a new CSAT score); under a new rules
            # version they mean new rules, which never re-value a standing credit.
            repriced = credit is not None and credit.points != entry.points and entry.rules_version == rules.version
            if credit is None or credit.agent_id != entry.agent_id or repriced:
                reverse(session=session, entry=entry, reason=reversal_reason(entry), rules=rules)
                del standing[key]
                written += 1
    now = utcnow()
    for key, credit in sorted(want.items()):
        if key in standing or _capped(session, credit, rules, zone, now):
            continue
        balance = crud.lock_balance(session=session, agent_id=credit.agent_id)
        try:
            crud.append(session=session, entry=_entry(credit, f"{key}#{len(history[key])}", rules), balance=balance)
        except KeyReused:
            continue  # another rules version wrote this fact's credit first; it stands
        written += 1
    return written


def debit_or_credit(
    *,
    session: Session,
    agent_id: str,
    points: int,
    rule_id: str,
    reason: str,
    key: str,
    actor: str | None,
    reward: str | None,
    rules: Rules,
) -> tuple[CreditEntry, int]:
    """A manual adjustment or a redemption, once per key; returns the entry and the balance after it.

    Raises:
        NotFound: the agent is unknown.
        InsufficientPoints: the balance does not cover a debit (nothing is written).
        IdempotencyConflict: the key was used for a different entry.
    """
    if not crud.agent_exists(session=session, agent_id=agent_id):
        raise NotFound(f"agent {agent_id} not found", details={"agent_id": agent_id})
    balance = crud.lock_balance(session=session, agent_id=agent_id)
    fact = f"{rule_id}:{key}"
    entry = CreditEntry(
        agent_id=agent_id,
        points=points,
        rule_id=rule_id,
        rules_version=rules.version,
        reason=reason,
        fact_key=fact,
        idempotency_key=fact,
        payload_hash="",
        reward=reward,
        actor=actor,
    )
    existing = crud.get_entry_by_key(session=session, key=fact)
    if existing is None and points < 0 and balance.balance + points < 0:
        raise InsufficientPoints(
            f"agent {agent_id} has {balance.balance} points; {-points} are needed",
            details={"agent_id": agent_id, "balance": balance.balance, "needed": -points},
        )
    try:
        stored, _ = crud.append(session=session, entry=entry, balance=balance)
    except KeyReused as exc:
        raise IdempotencyConflict(str(exc), details={"idempotency_key": key}) from exc
    return stored, balance.balance


def adjust(
    *, session: Session, agent_id: str, points: int, reason: str, actor: str, key: str | None, rules: Rules
) -> tuple[CreditEntry, int]:
    """A manual adjustment (admin): any non-zero points with a reason; who made it is recorded."""
    with crud.ledger_transaction(session):
        return debit_or_credit(
            session=session,
            agent_id=agent_id,
            points=points,
            rule_id=MANUAL,
            reason=reason,
            key=key or uuid.uuid4().hex,
            actor=actor,
            reward=None,
            rules=rules,
        )


def redeem(
    *, session: Session, agent_id: str, points: int, reward: str, key: str, actor: str, rules: Rules
) -> tuple[CreditEntry, int]:
    """A withdrawal of ``points`` (> 0) for ``reward``, once per ``key``; refused when the balance is short."""
    with crud.ledger_transaction(session):
        return debit_or_credit(
            session=session,
            agent_id=agent_id,
            points=-points,
            rule_id=REDEMPTION,
            reason=f"redeemed for {reward}",
            key=key,
            actor=actor,
            reward=reward,
            rules=rules,
        )
