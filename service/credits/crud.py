"""Ledger data access: keyword-only functions taking a Session first. No HTTP types here.

Entries are only ever inserted (:func:`append`): ``INSERT … ON CONFLICT DO NOTHING`` on the
idempotency key, then read back, so a retried or concurrent write stores one row and a key
reused with a different payload raises :class:`KeyReused`. Every write runs inside
:func:`ledger_transaction` and changes balances only through :func:`lock_balance`'s row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from service.credits.models import CreditBalance, CreditCursor, CreditEntry
from service.credits.rules import REDEMPTION
from service.db import utcnow
from service.usage.crud import KeyReused, writing
from service.usage.models import Agent

# pg_advisory_xact_lock key of the settle step ("kbcr" in ASCII): one settle at a time across workers.
SETTLE_LOCK = 0x6B626372
HASHED = ("agent_id", "points", "rule_id", "reason", "fact_key", "article_id", "content_hash", "ticket_id")
HASHED_REFS = ("event_id", "outcome_id", "flag_id", "reward", "reverses_id")


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


@contextlib.contextmanager
def ledger_transaction(session: Session, *, settle: bool = False) -> Iterator[None]:
    """One serialised write transaction, committed at the end (rolled back on an error).

    SQLite: this process's writer lock, then ``BEGIN IMMEDIATE`` (the database's one write lock is
    taken before anything is read, so a balance read cannot go stale across processes).
    PostgreSQL: balance rows are locked one by one (:func:`lock_balance`); ``settle`` also takes a
    transaction-scoped advisory lock so that one settle step reads the facts at a time.
    """
    with writing(session):
        try:
            if session.get_bind().dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            elif settle:
                session.connection().execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETTLE_LOCK})
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_balance(*, session: Session, agent_id: str) -> CreditBalance:
    """The agent's balance row (created at 0), locked until the transaction ends."""
    row = {"agent_id": agent_id, "balance": 0, "updated_at": utcnow()}
    statement = (
        _dialect(session).insert(CreditBalance).values([row]).on_conflict_do_nothing(index_elements=["agent_id"])
    )
    session.exec(statement)
    query = select(CreditBalance).where(CreditBalance.agent_id == agent_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).one()


def entry_hash(entry: CreditEntry) -> str:
    """sha256 of what an entry says (not when or by which key it was written)."""
    data = {name: getattr(entry, name) for name in (*HASHED, *HASHED_REFS)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def append(*, session: Session, entry: CreditEntry, balance: CreditBalance) -> tuple[CreditEntry, bool]:
    """Insert ``entry`` once per idempotency key and add its points to the locked ``balance``. Does not commit.

    Returns:
        The stored entry (the first one on a retry) and whether this call inserted it.

    Raises:
        KeyReused: the key is stored with a different entry.
    """
    entry.payload_hash = entry_hash(entry)
    row = entry.model_dump(exclude={"id"})
    statement = (
        _dialect(session).insert(CreditEntry).values([row]).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    inserted = bool(session.exec(statement.returning(sa.column("id"))).scalars().all())
    stored = get_entry_by_key(session=session, key=entry.idempotency_key)
    assert stored is not None
    if stored.payload_hash != entry.payload_hash:
        raise KeyReused(f"idempotency key {entry.idempotency_key!r} was already used for a different entry")
    if inserted:
        balance.balance += entry.points
        balance.updated_at = utcnow()
        session.add(balance)
        session.flush()
    return stored, inserted


def get_entry_by_key(*, session: Session, key: str) -> CreditEntry | None:
    """The entry stored under an idempotency key (read fresh)."""
    query = select(CreditEntry).where(CreditEntry.idempotency_key == key)
    return session.exec(query.execution_options(populate_existing=True)).first()


def get_entry(*, session: Session, entry_id: int) -> CreditEntry | None:
    """One entry."""
    return session.get(CreditEntry, entry_id)


def reversal_of(*, session: Session, entry_id: int) -> CreditEntry | None:
    """The entry reversing ``entry_id``, if any."""
    return session.exec(select(CreditEntry).where(CreditEntry.reverses_id == entry_id)).first()


def fact_entries(*, session: Session, fact_keys: Sequence[str]) -> Sequence[CreditEntry]:
    """Every entry (credits and their reversals) of these facts, oldest first."""
    if not fact_keys:
        return []
    query = select(CreditEntry).where(col(CreditEntry.fact_key).in_(sorted(set(fact_keys))))
    return session.exec(query.order_by(col(CreditEntry.id)).execution_options(populate_existing=True)).all()


def ticket_entries(*, session: Session, ticket_ids: Sequence[str]) -> Sequence[CreditEntry]:
    """Every entry about these tickets, oldest first."""
    if not ticket_ids:
        return []
    query = select(CreditEntry).where(col(CreditEntry.ticket_id).in_(sorted(set(ticket_ids))))
    return session.exec(query.order_by(col(CreditEntry.id)).execution_options(populate_existing=True)).all()


def rule_points_since(*, session: Session, agent_id: str, rule_id: str, since: datetime) -> int:
    """How many credits (net of reversals) the agent got under ``rule_id`` since ``since`` (daily caps)."""
    query = select(func.count()).where(
        CreditEntry.agent_id == agent_id,
        CreditEntry.rule_id == rule_id,
        col(CreditEntry.reverses_id).is_(None),
        col(CreditEntry.created_at) >= since,
    )
    reversed_query = select(func.count()).where(
        CreditEntry.agent_id == agent_id,
        CreditEntry.rule_id == rule_id,
        col(CreditEntry.reverses_id).is_not(None),
        col(CreditEntry.created_at) >= since,
    )
    return int(session.exec(query).one()) - int(session.exec(reversed_query).one())


def balance_of(*, session: Session, agent_id: str) -> int:
    """An agent's balance (0 if they have no entries)."""
    row = session.get(CreditBalance, agent_id)
    return row.balance if row else 0


def agent_exists(*, session: Session, agent_id: str) -> bool:
    """Whether the agent is known (agents table)."""
    return session.get(Agent, agent_id) is not None


def list_entries(
    *,
    session: Session,
    agent_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    rule_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[CreditEntry], int]:
    """Entries, newest first, with the total count of the filter."""
    query = select(CreditEntry)
    if agent_id is not None:
        query = query.where(CreditEntry.agent_id == agent_id)
    if since is not None:
        query = query.where(col(CreditEntry.created_at) >= since)
    if until is not None:
        query = query.where(col(CreditEntry.created_at) < until)
    if rule_id is not None:
        query = query.where(CreditEntry.rule_id == rule_id)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    page = query.order_by(col(CreditEntry.id).desc()).offset(offset).limit(limit)
    return session.exec(page).all(), total


def points_between(*, session: Session, agent_id: str, since: datetime, until: datetime) -> int:
    """The sum of an agent's entries created in [since, until)."""
    query = select(func.coalesce(func.sum(CreditEntry.points), 0)).where(
        CreditEntry.agent_id == agent_id, col(CreditEntry.created_at) >= since, col(CreditEntry.created_at) < until
    )
    return int(session.exec(query).one())


def leaderboard(
    *, session: Session, since: datetime, until: datetime, team: str | None, limit: int
) -> list[tuple[str, str | None, int]]:
    """Agents by points earned in [since, until) (redemptions are spending, not earning): agent, team, points."""
    earned = func.sum(CreditEntry.points).label("points")
    query = (
        select(CreditEntry.agent_id, Agent.team, earned)
        .join(Agent, col(Agent.agent_id) == col(CreditEntry.agent_id), isouter=True)
        .where(col(CreditEntry.created_at) >= since, col(CreditEntry.created_at) < until)
        .where(CreditEntry.rule_id != REDEMPTION)
        .group_by(col(CreditEntry.agent_id), col(Agent.team))
        .order_by(earned.desc(), col(CreditEntry.agent_id))
        .limit(limit)
    )
    if team is not None:
        query = query.where(Agent.team == team)
    return [(a, t, int(p)) for a, t, p in session.exec(query).all()]


def statement_rows(
    *, session: Session, since: datetime, until: datetime
) -> list[tuple[str, str | None, str, int, int]]:
    """Per agent and rule in [since, until): agent, team, rule, entries, points (every entry counts once)."""
    query = (
        sa.select(
            col(CreditEntry.agent_id),
            col(Agent.team),
            col(CreditEntry.rule_id),
            func.count(),
            func.sum(col(CreditEntry.points)),
        )
        .join(Agent, col(Agent.agent_id) == col(CreditEntry.agent_id), isouter=True)
        .where(col(CreditEntry.created_at) >= since, col(CreditEntry.created_at) < until)
        .group_by(col(CreditEntry.agent_id), col(Agent.team), col(CreditEntry.rule_id))
        .order_by(col(CreditEntry.agent_id), col(CreditEntry.rule_id))
    )
    return [(a, t, r, int(n), int(p)) for a, t, r, n, p in session.connection().execute(query).all()]


def cursor(*, session: Session, name: str) -> int:
    """The last row id settling processed in a usage table."""
    row = session.get(CreditCursor, name)
    return row.position if row else 0


def advance_cursor(*, session: Session, name: str, position: int) -> None:
    """Move a cursor forward (never back). Does not commit."""
    row = session.get(CreditCursor, name) or CreditCursor(name=name, position=0)
    row.position = max(row.position, position)
    session.add(row)
