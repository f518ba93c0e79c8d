"""Ticket outcomes: a body in kbassist's shape or a ticket system's webhook body through a field mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from service.errors import IdempotencyConflict, InvalidInput, NotFound
from service.usage import crud
from service.usage.ingest import to_utc
from service.usage.mapping import FieldMapping, MappingError, body_hash
from service.usage.models import TicketOutcome
from service.usage.schemas import OutcomeCreate, OutcomePublic


def parse_outcome(ticket_id: str, body: Any, mapping: FieldMapping | None) -> OutcomeCreate:
    """The outcome a posted body describes.

    Raises:
        InvalidInput: the mapping misses a path or value, names another ticket, or the fields fail validation.
    """
    fields = body
    if mapping is not None:
        try:
            fields = mapping.apply(body)
        except MappingError as exc:
            raise InvalidInput(
                str(exc), details=[{"field": exc.field, "path": exc.path, "message": str(exc), "type": "mapping_error"}]
            ) from exc
        mapped_ticket = fields.pop("ticket_id", None)
        if mapped_ticket is not None and mapped_ticket != ticket_id:
            raise InvalidInput(
                f"the body is about ticket {mapped_ticket!r}, the URL names {ticket_id!r}",
                details=[{"field": "ticket_id", "message": "differs from the URL", "type": "value_error"}],
            )
    try:
        return OutcomeCreate.model_validate(fields)
    except ValidationError as exc:
        details = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise InvalidInput("; ".join(f"{d['field']}: {d['message']}" for d in details), details=details) from exc


def public(row: TicketOutcome, agent_ids: list[str]) -> OutcomePublic:
    """The API view of a stored outcome."""
    assert row.id is not None
    return OutcomePublic(
        id=row.id,
        ticket_id=row.ticket_id,
        status=row.status,
        csat=row.csat,
        first_contact_resolution=row.first_contact_resolution,
        complexity=row.complexity,
        agent_ids=sorted(agent_ids),
        team=row.team,
        channel=row.channel,
        occurred_at=row.occurred_at,
        idempotency_key=row.idempotency_key,
    )


def record(
    *,
    session: Session,
    ticket_id: str,
    body: Any,
    mapping: FieldMapping | None,
    header_key: str | None,
    api_key_id: int | None,
) -> OutcomePublic:
    """Store the outcome once per idempotency key: the header, else the body's key, else a hash of the body.

    Raises:
        InvalidInput: see :func:`parse_outcome`.
        IdempotencyConflict: the key was used for a different outcome.
    """
    outcome = parse_outcome(ticket_id, body, mapping)
    digest = body_hash(ticket_id, body)
    key = header_key or outcome.idempotency_key or digest
    row = TicketOutcome(
        idempotency_key=key,
        ticket_id=ticket_id,
        status=outcome.status,
        csat=outcome.csat,
        first_contact_resolution=outcome.first_contact_resolution,
        complexity=outcome.complexity,
        team=outcome.team,
        channel=outcome.channel,
        occurred_at=to_utc(outcome.occurred_at),
        api_key_id=api_key_id,
        payload_hash=digest,
    )
    try:
        with crud.writing(session):
            stored, _ = crud.record_outcome(session=session, outcome=row, agent_ids=outcome.agent_ids)
    except crud.KeyReused as exc:
        raise IdempotencyConflict(str(exc), details={"idempotency_key": key}) from exc
    assert stored.id is not None
    return public(stored, crud.outcome_agents(session=session, outcome_ids=[stored.id])[stored.id])


def history(*, session: Session, ticket_id: str) -> list[OutcomePublic]:
    """A ticket's outcomes, oldest first.

    Raises:
        NotFound: no outcome was ever recorded for the ticket.
    """
    rows = crud.list_outcomes(session=session, ticket_id=ticket_id)
    if not rows:
        raise NotFound(f"no outcome recorded for ticket {ticket_id}", details={"ticket_id": ticket_id})
    agents: Mapping[int, list[str]] = crud.outcome_agents(session=session, outcome_ids=[r.id for r in rows if r.id])
    return [public(r, agents[r.id or 0]) for r in rows]
