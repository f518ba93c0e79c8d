"""Usage API: suggestion events, ticket links and outcomes, agents and flags (reports: ``report_routes``).

Routes are plain ``def``: each waits for its database commit (a 2xx means the fact is
stored), so they run in the thread pool, away from the suggest path's event loop.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request

from service.deps import HolderDep, MaskerDep, SessionDep, require_roles
from service.errors import Forbidden, InvalidInput, NotFound
from service.fields import ROW_ID_MAX
from service.keys.auth import Principal
from service.suggestions.models import Suggestion
from service.usage import crud, ingest, outcomes
from service.usage.schemas import (
    AGENT_ID,
    AgentId,
    AgentPublic,
    AgentsPublic,
    AgentUpsert,
    ArticleId,
    EventBatch,
    EventBatchPublic,
    EventCreate,
    EventId,
    EventPublic,
    EventResult,
    FlagPublic,
    FlagResolve,
    FlagsPublic,
    FlagStatus,
    Label,
    LinkCreate,
    OutcomeCreate,
    OutcomePublic,
    OutcomesPublic,
    TicketId,
)

router = APIRouter(prefix="/v1", tags=["usage"])

ActorDep = Annotated[Principal, Depends(require_roles("agent", "integration", acts_for_agent=True))]
IntegrationDep = Annotated[Principal, Depends(require_roles("integration"))]
EditorDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]
AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
OutcomeReaderDep = Annotated[Principal, Depends(require_roles("editor", "admin", "integration"))]
SuggestionIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="From the suggest response.")]
IdempotencyHeader = Annotated[EventId | None, Header(alias="Idempotency-Key")]


def _agent_of(principal: Principal) -> str:
    if principal.agent_id is None:
        raise InvalidInput(
            "no agent: an integration key names the agent in the X-Agent-Id header",
            details=[{"field": "X-Agent-Id", "message": "required", "type": "missing"}],
        )
    if not AGENT_ID.fullmatch(principal.agent_id):
        raise InvalidInput(
            f"agent id {principal.agent_id[:80]!r} is not 1–64 letters, digits or _.@:-",
            details=[{"field": "X-Agent-Id", "message": "malformed", "type": "value_error"}],
        )
    return principal.agent_id


def _suggestion_for(session: SessionDep, suggestion_id: str, agent_id: str) -> Suggestion:
    # No waiting for a pending write: a suggest answers only once its row is committed (service/writer.py).
    suggestion = crud.get_suggestion(session=session, suggestion_id=suggestion_id)
    if suggestion is None:
        raise ingest.unknown_suggestion(suggestion_id)
    if suggestion.agent_id is not None and suggestion.agent_id != agent_id:
        raise Forbidden(f"suggestion {suggestion_id} belongs to another agent", details={"agent_id": agent_id})
    return suggestion


@router.post("/suggestions/{suggestion_id}/events", response_model=EventPublic, summary="Record what the agent did")
def post_event(
    suggestion_id: SuggestionIdPath,
    body: EventCreate,
    principal: ActorDep,
    session: SessionDep,
    masker: MaskerDep,
) -> EventPublic:
    """Store one event; a retry with the same ``event_id`` returns the first one's answer."""
    agent_id = _agent_of(principal)
    suggestion = _suggestion_for(session, suggestion_id, agent_id)
    event = ingest.suggestion_event(
        suggestion=suggestion, body=body, agent_id=agent_id, api_key_id=principal.key_id, masker=masker
    )
    return ingest.store(session, event)


@router.post(
    "/suggestions/{suggestion_id}/events/batch",
    response_model=EventBatchPublic,
    summary="Record up to 100 events, each with its own result",
)
def post_events(
    suggestion_id: SuggestionIdPath,
    body: EventBatch,
    principal: ActorDep,
    session: SessionDep,
    masker: MaskerDep,
) -> EventBatchPublic:
    """Each event is validated on its own; the valid ones commit together before the answer, in request order."""
    agent_id = _agent_of(principal)
    suggestion = _suggestion_for(session, suggestion_id, agent_id)
    results = []
    recorded = ingest.record_batch(
        session=session,
        suggestion=suggestion,
        items=body.events,
        agent_id=agent_id,
        api_key_id=principal.key_id,
        masker=masker,
    )
    for status, event, error in recorded:
        detail = None if error is None else {"code": error.code, "message": error.message, "details": error.details}
        results.append(EventResult(status=status, event=event, error=detail))
    return EventBatchPublic(results=results)


def _check_article(holder: HolderDep, article_id: str) -> None:
    retriever = holder.retriever
    if retriever is not None and article_id not in retriever.articles:
        raise InvalidInput(
            f"article_id {article_id!r} is not in the serving index build {retriever.version}",
            details=[{"field": "article_id", "message": "unknown article", "type": "unknown_value"}],
        )


@router.post("/tickets/{ticket_id}/links", response_model=EventPublic, summary="Link an article to a ticket")
def link_article(
    ticket_id: Annotated[TicketId, Path()],
    body: LinkCreate,
    principal: ActorDep,
    session: SessionDep,
    holder: HolderDep,
    idempotency_key: IdempotencyHeader = None,
) -> EventPublic:
    """Record a link made in the ticket system; ``event_id`` (or ``Idempotency-Key``) makes retries safe."""
    _check_article(holder, body.article_id)
    return ingest.record_ticket_link(
        session=session,
        ticket_id=ticket_id,
        article_id=body.article_id,
        linked=True,
        event_id=body.event_id or idempotency_key or uuid.uuid4().hex,
        occurred_at=body.occurred_at,
        agent_id=_agent_of(principal),
        api_key_id=principal.key_id,
    )


@router.delete("/tickets/{ticket_id}/links/{article_id}", response_model=EventPublic, summary="Unlink an article")
def unlink_article(
    ticket_id: Annotated[TicketId, Path()],
    article_id: Annotated[ArticleId, Path()],
    principal: ActorDep,
    session: SessionDep,
    idempotency_key: IdempotencyHeader = None,
) -> EventPublic:
    """Record an unlink (a fact of its own: the link stays in the history)."""
    return ingest.record_ticket_link(
        session=session,
        ticket_id=ticket_id,
        article_id=article_id,
        linked=False,
        event_id=idempotency_key or uuid.uuid4().hex,
        occurred_at=None,
        agent_id=_agent_of(principal),
        api_key_id=principal.key_id,
    )


# The body is read by hand (a webhook body through ?mapping= has the ticket system's shape); the schema
# states kbassist's own shape, which is what is checked when no mapping is named.
_OUTCOME_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                **OutcomeCreate.model_json_schema(),
                "description": "kbassist's own shape; with ?mapping=NAME, the ticket system's webhook body instead.",
            }
        }
    },
}


@router.post(
    "/tickets/{ticket_id}/outcome",
    response_model=OutcomePublic,
    summary="Record a ticket outcome",
    openapi_extra={"requestBody": _OUTCOME_BODY},
)
def post_outcome(
    ticket_id: Annotated[TicketId, Path()],
    body: Annotated[Any, Body()],
    principal: IntegrationDep,
    session: SessionDep,
    request: Request,
    mapping: Annotated[str | None, Query(description="A field mapping for a webhook body.")] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> OutcomePublic:
    """Kbassist's own shape, or with ``?mapping=NAME`` the ticket system's webhook body unchanged."""
    mappings = request.app.state.outcome_mappings
    if mapping is not None and mapping not in mappings:
        raise InvalidInput(
            f"unknown mapping {mapping!r} (configured: {', '.join(sorted(mappings))})",
            details=[{"field": "mapping", "message": "unknown", "type": "unknown_value"}],
        )
    return outcomes.record(
        session=session,
        ticket_id=ticket_id,
        body=body,
        mapping=mappings[mapping] if mapping else None,
        header_key=idempotency_key,
        api_key_id=principal.key_id,
    )


@router.get("/tickets/{ticket_id}/outcomes", response_model=OutcomesPublic, summary="A ticket's outcome history")
def get_outcomes(
    ticket_id: Annotated[TicketId, Path()], _principal: OutcomeReaderDep, session: SessionDep
) -> OutcomesPublic:
    """Every outcome of the ticket, oldest first (a reopen is a row of its own)."""
    rows = outcomes.history(session=session, ticket_id=ticket_id)
    return OutcomesPublic(data=rows, count=len(rows))


@router.get("/agents", response_model=AgentsPublic, summary="List agents")
def get_agents(
    _principal: AdminDep, session: SessionDep, team: Annotated[Label | None, Query()] = None
) -> AgentsPublic:
    """Agents by id, optionally of one team."""
    rows = [AgentPublic.model_validate(a, from_attributes=True) for a in crud.list_agents(session=session, team=team)]
    return AgentsPublic(data=rows, count=len(rows))


@router.put("/agents/{agent_id}", response_model=AgentPublic, summary="Create or update an agent")
def put_agent(
    agent_id: Annotated[AgentId, Path()], body: AgentUpsert, _principal: AdminDep, session: SessionDep
) -> AgentPublic:
    """Set an agent's display name, team and active flag."""
    agent = crud.upsert_agent(
        session=session, agent_id=agent_id, display_name=body.display_name, team=body.team, active=body.active
    )
    return AgentPublic.model_validate(agent, from_attributes=True)


@router.get("/flags", response_model=FlagsPublic, summary="List flags")
def get_flags(
    _principal: EditorDep,
    session: SessionDep,
    status: FlagStatus | None = "open",
    article_id: Annotated[ArticleId | None, Query()] = None,
) -> FlagsPublic:
    """Flags (open ones by default), oldest first."""
    rows = crud.list_flags(session=session, status=status, article_id=article_id)
    return FlagsPublic(data=[FlagPublic.model_validate(f, from_attributes=True) for f in rows], count=len(rows))


@router.post("/flags/{flag_id}/resolve", response_model=FlagPublic, summary="Resolve a flag")
def resolve_flag(
    flag_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX)],
    body: FlagResolve,
    principal: EditorDep,
    session: SessionDep,
    masker: MaskerDep,
) -> FlagPublic:
    """Close a flag with a note (masked); resolving a resolved flag returns it unchanged."""
    editor = principal.agent_id or f"key:{principal.key_id}"
    flag = crud.resolve_flag(session=session, flag_id=flag_id, editor=editor, note=masker.mask(body.note).text)
    if flag is None:
        raise NotFound(f"flag {flag_id} not found", details={"flag_id": flag_id})
    return FlagPublic.model_validate(flag, from_attributes=True)
