"""Dependencies as named ``Annotated`` aliases, so routes read like prose.

The trivial ones are ``async def``: FastAPI runs a plain ``def`` dependency in its
thread pool, which costs more than the lookup itself on the suggest path.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from indexer.search import Retriever
from service.batcher import SearchBatcher
from service.config import ServiceSettings
from service.errors import Forbidden, IndexNotReady, Unauthorized
from service.fields import AgentId
from service.index import IndexHolder
from service.keys.auth import KeyVerifier, Principal
from service.keys.models import ROLES
from service.metrics import Metrics
from service.pii import PIIMasker
from service.suggestions.models import SuggestionRow
from service.writer import RowWriter


async def get_settings(request: Request) -> ServiceSettings:
    """The app's settings."""
    settings: ServiceSettings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> IndexHolder:
    """The index holder (serving build + watcher)."""
    holder: IndexHolder = request.app.state.holder
    return holder


async def get_retriever(holder: Annotated[IndexHolder, Depends(get_holder)]) -> Retriever:
    """The build serving right now; 503 if none is loaded."""
    retriever = holder.retriever
    if retriever is None:
        refused = holder.refused.error if holder.refused else None
        raise IndexNotReady("no index build is loaded yet", details={"refused": refused})
    return retriever


async def get_masker(request: Request) -> PIIMasker:
    """The PII masker."""
    masker: PIIMasker = request.app.state.masker
    return masker


async def get_writer(request: Request) -> RowWriter[SuggestionRow]:
    """The background suggestion writer."""
    writer: RowWriter[SuggestionRow] = request.app.state.writer
    return writer


async def get_batcher(request: Request) -> SearchBatcher:
    """The search batcher."""
    batcher: SearchBatcher = request.app.state.batcher
    return batcher


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def _presented_key(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


async def get_principal(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="API key (or use Authorization: Bearer).")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_agent_id: Annotated[AgentId | None, Header(description="Integration keys: the agent acted for.")] = None,
) -> Principal:
    """The caller, resolved from the API key and ``X-Agent-Id``.

    Raises:
        RequestValidationError: ``X-Agent-Id`` longer than the stored column (422, field ``x-agent-id``).
        Unauthorized: no key, or an unknown or revoked key (401).
        Forbidden: an agent key naming another agent (403).
    """
    key = _presented_key(x_api_key, authorization)
    if not key:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer", code="missing_api_key")
    verifier: KeyVerifier = request.app.state.verifier
    hit, principal = verifier.cached(key)
    if not hit:
        principal = await run_in_threadpool(verifier.verify, key)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    if x_agent_id:
        if principal.role == "agent" and x_agent_id != principal.agent_id:
            raise Forbidden("an agent key may act only for its own agent id", details={"agent_id": x_agent_id})
        if principal.role != "agent":
            principal = Principal(principal.key_id, principal.role, x_agent_id, principal.internal)
    return principal


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only callers with one of ``roles`` (403 otherwise)."""

    async def checker(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this (needs: {', '.join(roles)})")
        return principal

    return checker


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
MaskerDep = Annotated[PIIMasker, Depends(get_masker)]
WriterDep = Annotated[RowWriter[SuggestionRow], Depends(get_writer)]
BatcherDep = Annotated[SearchBatcher, Depends(get_batcher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(require_roles(*ROLES))]
ReloaderDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]
