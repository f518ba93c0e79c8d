"""Usage data access: keyword-only functions taking a Session first. No HTTP types here.

Events and outcomes are inserted with ``INSERT … ON CONFLICT DO NOTHING`` on their
idempotency key (SQLite and PostgreSQL both have it), then read back: concurrent
retries of one key store one row and all get the first one's answer; a key reused
with a different payload raises :class:`KeyReused`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.event
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from service.db import utcnow
from service.keys.models import ApiKey
from service.suggestions.models import Suggestion
from service.usage import article_rollup, rollup, suggestion_uses, ticket_latest, ticket_links
from service.usage.models import Agent, ArticleSeen, Flag, TicketOutcome, TicketOutcomeAgent, UsageEvent

_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_REGISTRY = threading.Lock()


@contextlib.contextmanager
def writing(session: Session) -> Iterator[None]:
    """Serialise this process's write transactions on SQLite (PostgreSQL: no-op).

    SQLite admits one writer at a time; threads that all wait in its busy handler give up after
    ``busy_timeout`` under load ("database is locked"), while a lock here queues them fairly.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    with _REGISTRY:
        lock = _SQLITE_WRITERS.setdefault(str(bind.engine.url), threading.Lock())
    with lock:
        yield


class KeyReused(Exception):
    """An idempotency key already stored with a different payload."""


def _insert_ignoring_conflict(
    session: Session, model: type[SQLModel], rows: list[dict[str, Any]], key: str
) -> set[Any]:
    """Insert ``rows`` in one statement, skipping those whose ``key`` exists; returns the inserted keys."""
    if not rows:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(rows).on_conflict_do_nothing(index_elements=[key])
    # RETURNING, not rowcount: psycopg reports -1 for a multi-row VALUES insert.
    return set(session.exec(statement.returning(sa.column(key))).scalars())


# The first key of the two-key advisory locks an event batch takes on its event ids ("kbev" in ASCII): a key space
# of its own (the settle step's one-key lock is another).
EVENT_ID_LOCKS = 0x6B626576
_LOCK_EVENT_IDS = sa.text(
    "SELECT count(pg_advisory_xact_lock(:space, h)) FROM "
    "(SELECT DISTINCT hashtext(t.id) AS h FROM unnest(CAST(:ids AS text[])) AS t(id) ORDER BY h) AS hashes"
)


def _lock_event_ids(session: Session, event_ids: Iterable[str]) -> None:
    """PostgreSQL: lock the batch's event ids for the transaction, in one order whatever the batch's order.

    Two transactions inserting the same new ids in opposite orders each wait for the other's
    uncommitted unique-key entry: a deadlock. The insert keeps the batch's order (it gives the rows'
    ids, which break ties in time), so the ids are locked first, in hash order; a second batch with
    any of them waits for the first's commit and then finds them stored. One id alone cannot close such a
    cycle (no lock is taken: a single event's write stays one statement shorter); SQLite has one writer.
    """
    ids = sorted(set(event_ids))
    if len(ids) > 1 and session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_LOCK_EVENT_IDS, {"space": EVENT_ID_LOCKS, "ids": ids})


def ensure_agents(*, session: Session, agent_ids: Iterable[str]) -> None:
    """Record agents not seen before, without a team (an unknown agent is never an error). Does not commit."""
    now = utcnow()
    rows = [{"agent_id": a, "active": True, "created_at": now, "updated_at": now} for a in sorted(set(agent_ids))]
    _insert_ignoring_conflict(session, Agent, rows, "agent_id")


@sqlalchemy.event.listens_for(ApiKey, "after_insert")
def _record_key_agent(_mapper: Any, connection: sa.Connection, key: ApiKey) -> None:
    """A key bound to an unknown agent records the agent (no team), in the key's own transaction.

    A listener, because keys may not import usage (docs/architecture.md); every entry point that
    creates keys (the CLI, the app) imports this module.
    """
    if key.agent_id is None:
        return
    now = utcnow()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    row = {"agent_id": key.agent_id, "active": True, "created_at": now, "updated_at": now}
    connection.execute(dialect.insert(Agent).values([row]).on_conflict_do_nothing(index_elements=["agent_id"]))


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


def record_events(*, session: Session, events: Sequence[UsageEvent]) -> list[UsageEvent | KeyReused]:
    """Store each event once per ``event_id`` in one INSERT, without committing; flag events open a flag.

    The events stored are added to the rows kept on write (``service.usage.rollup``, ``ticket_links``,
    ``suggestion_uses``, ``article_rollup``) in the same transaction.

    The caller records the agents and commits (a batch commits once). A conflicting item writes nothing,
    so the others need no savepoint.

    Returns:
        Per event, in order: the stored row (the first one on a retry), or :class:`KeyReused` when the
        event id is stored with a different payload.
    """
    _lock_event_ids(session, (e.event_id for e in events))
    inserted = _insert_ignoring_conflict(
        session, UsageEvent, [e.model_dump(exclude={"id"}) for e in events], "event_id"
    )
    ids = list({e.event_id for e in events})
    stored = {row.event_id: row for row in session.exec(select(UsageEvent).where(col(UsageEvent.event_id).in_(ids)))}
    # From the stored rows: a retried id adds nothing, and a batch repeating an id counts the one stored.
    new = [stored[i] for i in sorted(inserted)]
    rollup.record(session=session, events=new)
    ticket_links.record(session=session, events=new)
    suggestion_uses.record(session=session, events=new)
    article_rollup.record(session=session, events=new)
    results: list[UsageEvent | KeyReused] = []
    for event in events:
        row = stored[event.event_id]
        if row.payload_hash != event.payload_hash:
            results.append(KeyReused(f"event_id {event.event_id!r} was already used for a different event"))
            continue
        if row.event_id in inserted and row.type == "flagged":
            inserted.discard(row.event_id)
            assert row.id is not None
            session.add(
                Flag(
                    event_id=row.id,
                    article_id=row.article_id,
                    agent_id=row.agent_id,
                    comment=row.comment,
                    created_at=row.created_at,
                )
            )
        results.append(row)
    return results


def record_event(*, session: Session, event: UsageEvent) -> UsageEvent:
    """Store one event once per ``event_id`` (recording its agent) and commit.

    Raises:
        KeyReused: the event id is stored with a different payload (nothing is written).
    """
    ensure_agents(session=session, agent_ids=[event.agent_id])
    (result,) = record_events(session=session, events=[event])
    if isinstance(result, KeyReused):
        session.rollback()
        raise result
    session.commit()
    return result


def record_outcome(*, session: Session, outcome: TicketOutcome, agent_ids: Sequence[str]) -> tuple[TicketOutcome, bool]:
    """Store ``outcome`` (with its handling agents) once per idempotency key and commit.

    A stored outcome updates its ticket's latest outcome (``service.usage.ticket_latest``) in the same transaction.

    Raises:
        KeyReused: the key is stored with a different payload.
    """
    ensure_agents(session=session, agent_ids=agent_ids)
    row = outcome.model_dump(exclude={"id"})
    inserted = bool(_insert_ignoring_conflict(session, TicketOutcome, [row], "idempotency_key"))
    key = outcome.idempotency_key
    stored = session.exec(select(TicketOutcome).where(TicketOutcome.idempotency_key == key)).one()
    if stored.payload_hash != outcome.payload_hash:
        session.rollback()
        raise KeyReused(f"idempotency key {key!r} was already used for a different outcome")
    if inserted:
        assert stored.id is not None
        session.add_all(TicketOutcomeAgent(outcome_id=stored.id, agent_id=a) for a in dict.fromkeys(agent_ids))
        ticket_latest.record(session=session, outcome=stored)
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
    added = len(_insert_ignoring_conflict(session, ArticleSeen, rows, "article_id"))
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
