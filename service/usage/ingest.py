"""Turning validated requests into stored events and outcomes (shared by the routes; no HTTP types)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from indexer.search import Retriever
from service.db import utcnow
from service.errors import IdempotencyConflict, InvalidInput, NotFound, ServiceError
from service.pii import PIIMasker
from service.suggestions.models import Suggestion
from service.usage import crud
from service.usage.models import UsageEvent
from service.usage.schemas import EventCreate, EventPublic

log = logging.getLogger(__name__)


def payload_hash(payload: dict[str, Any]) -> str:
    """sha256 of a canonical JSON rendering of ``payload``."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def public(event: UsageEvent) -> EventPublic:
    """The API view of a stored event."""
    return EventPublic.model_validate(event, from_attributes=True)


def to_utc(value: datetime | None) -> datetime:
    """Stored times are UTC (SQLite keeps no offset); None means now."""
    return utcnow() if value is None else value.astimezone(UTC)


def suggestion_event(
    *, suggestion: Suggestion, body: EventCreate, agent_id: str, api_key_id: int | None, masker: PIIMasker
) -> UsageEvent:
    """The row for one event on ``suggestion`` (comment masked, rank and ticket from the suggestion).

    Raises:
        InvalidInput: the article is not one of the suggestion's results.
    """
    ranked = [str(r.get("article_id")) for r in suggestion.results]
    if body.article_id not in ranked:
        raise InvalidInput(
            f"article_id {body.article_id!r} is not one of suggestion {suggestion.id}'s results",
            details=[{"field": "article_id", "message": "not in the suggestion's results", "type": "value_error"}],
        )
    digest = payload_hash(
        {"kind": "suggestion", "suggestion_id": suggestion.id, "agent_id": agent_id, **body.model_dump(mode="json")}
    )
    return UsageEvent(
        event_id=body.event_id,
        type=body.type,
        suggestion_id=suggestion.id,
        ticket_id=suggestion.ticket_id,
        article_id=body.article_id,
        rank=ranked.index(body.article_id) + 1,
        index_version=suggestion.index_version,
        agent_id=agent_id,
        api_key_id=api_key_id,
        comment=masker.mask(body.comment).text if body.comment else None,
        occurred_at=to_utc(body.occurred_at),
        payload_hash=digest,
    )


def record_ticket_link(
    *,
    session: Session,
    ticket_id: str,
    article_id: str,
    linked: bool,
    event_id: str,
    occurred_at: datetime | None,
    agent_id: str,
    api_key_id: int | None,
) -> EventPublic:
    """Store a link or unlink made from the ticket system (no suggestion) once per event id."""
    kind = "linked" if linked else "unlinked"
    digest = payload_hash(
        {
            "kind": "ticket",
            "type": kind,
            "ticket_id": ticket_id,
            "article_id": article_id,
            "agent_id": agent_id,
            "occurred_at": occurred_at,
        }
    )
    event = UsageEvent(
        event_id=event_id,
        type=kind,
        ticket_id=ticket_id,
        article_id=article_id,
        agent_id=agent_id,
        api_key_id=api_key_id,
        occurred_at=to_utc(occurred_at),
        payload_hash=digest,
    )
    return store(session, event)


def store(session: Session, event: UsageEvent) -> EventPublic:
    """Store one event once and commit.

    Raises:
        IdempotencyConflict: the event id was used for a different event.
    """
    try:
        with crud.writing(session):
            stored = crud.record_event(session=session, event=event)
    except crud.KeyReused as exc:
        raise IdempotencyConflict(str(exc), details={"event_id": event.event_id}) from exc
    return public(stored)


def record_batch(
    *,
    session: Session,
    suggestion: Suggestion,
    items: list[Any],
    agent_id: str,
    api_key_id: int | None,
    masker: PIIMasker,
) -> list[tuple[int, EventPublic | None, ServiceError | None]]:
    """Each event of a batch validated on its own (one bad item fails alone), all stored in one transaction.

    One INSERT and one commit per batch, not per event, is what lets 8 clients ingest thousands of
    events a second.
    """
    results: list[tuple[int, EventPublic | None, ServiceError | None]] = []
    bodies: list[EventCreate | None] = []
    for raw in items:
        try:
            bodies.append(EventCreate.model_validate(raw))
            results.append((200, None, None))
        except ValidationError as exc:
            details = [
                {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
            message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
            bodies.append(None)
            results.append((422, None, InvalidInput(message, details=details)))
    rows: dict[int, UsageEvent] = {}
    for n, body in enumerate(bodies):
        if body is None:
            continue
        try:
            rows[n] = suggestion_event(
                suggestion=suggestion, body=body, agent_id=agent_id, api_key_id=api_key_id, masker=masker
            )
        except ServiceError as exc:
            results[n] = (exc.status_code, None, exc)
    with crud.writing(session):
        crud.ensure_agents(session=session, agent_ids=[agent_id])
        stored = crud.record_events(session=session, events=list(rows.values()))
        for n, row in zip(rows, stored, strict=True):
            if isinstance(row, crud.KeyReused):
                results[n] = (409, None, IdempotencyConflict(str(row), details={"event_id": rows[n].event_id}))
            else:
                results[n] = (200, public(row), None)  # before the commit, which expires the rows
        session.commit()
    return results


def unknown_suggestion(suggestion_id: str) -> NotFound:
    """The 404 for a suggestion id nobody issued (or whose row was dropped)."""
    return NotFound(f"suggestion {suggestion_id} not found", details={"suggestion_id": suggestion_id})


def record_build_articles(engine: Engine, retriever: Retriever) -> None:
    """Remember when each article of a newly served build was first served (reuse vs new reads it).

    Runs on the index watcher's thread; a database error is logged, never allowed to stop a swap.
    """
    try:
        with Session(engine) as session:
            added = crud.record_articles_seen(
                session=session, article_ids=retriever.articles, index_version=retriever.version
            )
    except SQLAlchemyError:
        log.exception("could not record the articles of build %s", retriever.version)
        return
    if added:
        log.info("build %s serves %d article(s) for the first time", retriever.version, added)
