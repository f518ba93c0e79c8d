"""Usage data access: keyword-only functions taking a Session first. No HTTP types here.

Events and outcomes are inserted with ``INSERT … ON CONFLICT DO NOTHING`` on their
idempotency key (SQLite and PostgreSQL both have it), then read back: concurrent
retries of one key store one row and all get the first one's answer; a key reused
with a different payload raises :class:`KeyReused`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from service.models import Suggestion, utcnow
from service.usage.models import Agent, ArticleSeen, Flag, TicketOutcome, TicketOutcomeAgent, UsageEvent


class KeyReused(Exception):
    """An idempotency key already stored with a different payload."""


def _insert_ignoring_conflict(session: Session, model: type[SQLModel], rows: list[dict[str, Any]], key: str) -> int:
    """Insert ``rows``, skipping those whose ``key`` exists; returns how many were inserted."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(rows).on_conflict_do_nothing(index_elements=[key])
    # RETURNING, not rowcount: psycopg reports -1 for a multi-row VALUES insert.
    return len(session.exec(statement.returning(sa.column(key))).all())


def ensure_agents(*, session: Session, agent_ids: Iterable[str]) -> None:
    """Record agents not seen before, without a team (an unknown agent is never an error). Does not commit."""
    now = utcnow()
    rows = [{"agent_id": a, "active": True, "created_at": now, "updated_at": now} for a in sorted(set(agent_ids))]
    _insert_ignoring_conflict(session, Agent, rows, "agent_id")


def upsert_agent(*, session: Session, agent_id: str, display_name: str | None, team: str | None, active: bool) -> Agent:
    """Create or update one agent and commit."""
    ensure_agents(session=session, agent_ids=[agent_id])
    agent = session.get(Agent, agent_id, with_for_update=True)
    assert agent is not None
    agent.display_name, agent.team, agent.active, agent.updated_at = display_name, team, active, utcnow()
    session.add(agent)
    session.commit()
    session.refresh(agent)
    return agent


def list_agents(*, session: Session, team: str | None = None) -> Sequence[Agent]:
    """Agents ordered by id, optionally of one team."""
    query = select(Agent).order_by(col(Agent.agent_id))
    if team is not None:
        query = query.where(Agent.team == team)
    return session.exec(query).all()


def get_agent(*, session: Session, agent_id: str) -> Agent | None:
    """One agent."""
    return session.get(Agent, agent_id)


def record_event(*, session: Session, event: UsageEvent, commit: bool = True) -> tuple[UsageEvent, bool]:
    """Store ``event`` once per ``event_id`` and commit; a flag event also opens a flag.

    Args:
        commit: False for a batch, whose caller records the agent and commits once at the end.

    Returns:
        The stored event (the first one on a retry) and whether this call inserted it.

    Raises:
        KeyReused: the event id is stored with a different payload (this call wrote nothing).
    """
    if commit:
        ensure_agents(session=session, agent_ids=[event.agent_id])
    inserted = _insert_ignoring_conflict(session, UsageEvent, [event.model_dump(exclude={"id"})], "event_id") == 1
    stored = session.exec(select(UsageEvent).where(UsageEvent.event_id == event.event_id)).one()
    if stored.payload_hash != event.payload_hash:
        raise KeyReused(f"event_id {event.event_id!r} was already used for a different event")
    if inserted and stored.type == "flagged":
        assert stored.id is not None
        session.add(
            Flag(
                event_id=stored.id,
                article_id=stored.article_id,
                agent_id=stored.agent_id,
                comment=stored.comment,
                created_at=stored.created_at,
            )
        )
    if commit:
        session.commit()
    return stored, inserted


def record_outcome(*, session: Session, outcome: TicketOutcome, agent_ids: Sequence[str]) -> tuple[TicketOutcome, bool]:
    """Store ``outcome`` (with its handling agents) once per idempotency key and commit.

    Raises:
        KeyReused: the key is stored with a different payload.
    """
    ensure_agents(session=session, agent_ids=agent_ids)
    row = outcome.model_dump(exclude={"id"})
    inserted = _insert_ignoring_conflict(session, TicketOutcome, [row], "idempotency_key") == 1
    key = outcome.idempotency_key
    stored = session.exec(select(TicketOutcome).where(TicketOutcome.idempotency_key == key)).one()
    if stored.payload_hash != outcome.payload_hash:
        session.rollback()
        raise KeyReused(f"idempotency key {key!r} was already used for a different outcome")
    if inserted:
        assert stored.id is not None
        session.add_all(TicketOutcomeAgent(outcome_id=stored.id, agent_id=a) for a in dict.fromkeys(agent_ids))
    session.commit()
    return stored, inserted


def outcome_agents(*, session: Session, outcome_ids: Sequence[int]) -> dict[int, list[str]]:
    """Handling agents per outcome id."""
    result: dict[int, list[str]] = {i: [] for i in outcome_ids}
    if outcome_ids:
        query = select(TicketOutcomeAgent).where(col(TicketOutcomeAgent.outcome_id).in_(outcome_ids))
        for link in session.exec(query):
            result[link.outcome_id].append(link.agent_id)
    return result


def list_outcomes(*, session: Session, ticket_id: str) -> Sequence[TicketOutcome]:
    """A ticket's outcome history, oldest first."""
    query = select(TicketOutcome).where(TicketOutcome.ticket_id == ticket_id)
    return session.exec(query.order_by(col(TicketOutcome.occurred_at), col(TicketOutcome.id))).all()


def get_suggestion(*, session: Session, suggestion_id: str) -> Suggestion | None:
    """One stored suggestion (read fresh, not from the session's identity map)."""
    return session.exec(select(Suggestion).where(Suggestion.id == suggestion_id)).first()


def list_flags(*, session: Session, status: str | None = "open", article_id: str | None = None) -> Sequence[Flag]:
    """Flags, oldest first, filtered by status and article."""
    query = select(Flag).order_by(col(Flag.id))
    if status is not None:
        query = query.where(Flag.status == status)
    if article_id is not None:
        query = query.where(Flag.article_id == article_id)
    return session.exec(query).all()


def resolve_flag(*, session: Session, flag_id: int, editor: str, note: str) -> Flag | None:
    """Close a flag with a (masked) note and commit; None if there is no such flag. Resolving twice keeps the first."""
    flag = session.get(Flag, flag_id, with_for_update=True)
    if flag is None:
        return None
    if flag.status == "open":
        flag.status, flag.resolved_by, flag.resolved_at, flag.resolution_note = "resolved", editor, utcnow(), note
        session.add(flag)
        session.commit()
        session.refresh(flag)
    return flag


def record_articles_seen(
    *, session: Session, article_ids: Iterable[str], index_version: str, at: datetime | None = None
) -> int:
    """Remember when each article was first served (kept on later builds) and commit; returns how many are new."""
    at = at or utcnow()
    rows = [
        {"article_id": a, "first_seen_at": at, "first_index_version": index_version} for a in sorted(set(article_ids))
    ]
    added = _insert_ignoring_conflict(session, ArticleSeen, rows, "article_id")
    session.commit()
    return added


def blank_old_queries(*, session: Session, before: datetime) -> int:
    """Blank the masked query text of suggestions created before ``before`` and commit; returns rows changed.

    Everything else on the row (results, answerable, links through events) stays, so reports keep working.
    """
    statement = (
        update(Suggestion).where(col(Suggestion.created_at) < before, col(Suggestion.query) != "").values(query="")
    )
    changed = int(session.exec(statement).rowcount)
    session.commit()
    return changed
