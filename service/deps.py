"""Dependencies as named ``Annotated`` aliases, so routes read like prose.

The trivial ones are ``async def``: FastAPI runs a plain ``def`` dependency in its
thread pool, which costs more than the lookup itself on the suggest path.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlmodel import Session

from indexer.search import Retriever
from service.batcher import SearchBatcher
from service.config import ServiceSettings
from service.errors import Forbidden, IndexNotReady
from service.fields import AgentId, refuse_pii
from service.guard import PRINCIPAL, authenticate, presented_key
from service.index import IndexHolder
from service.keys.auth import Principal, acting_as
from service.keys.models import ROLES
from service.metrics import Metrics
from service.pii import PIIMasker
from service.ratelimit import KeyRateLimiter
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
        # As on /readyz: the version and reason code; the error text (with paths) stays in the log.
        r = holder.refused
        refused = {"version": r.version, "reason": r.reason} if r else None
        raise IndexNotReady("no index build is loaded yet", details={"refused": refused})
    return retriever


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request (plain ``def``: FastAPI runs it in the thread pool)."""
    with Session(request.app.state.engine) as session:
        yield session


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


async def get_principal(
    request: Request,
    _x_api_key: Annotated[str | None, Header(alias="x-api-key", description="API key (or use Bearer).")] = None,
) -> Principal:
    """The caller behind the API key (already known when :class:`service.guard.RequestGuard` checked it).

    Raises:
        Unauthorized: no key, or an unknown or revoked key (401).
        RateLimited: the key is over ``KB_RATE_LIMIT`` (429).
    """
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None:
        principal = await authenticate(request.app.state.verifier, presented_key(request.headers))
    limiter: KeyRateLimiter | None = request.app.state.rate_limiter
    if limiter is not None:
        limiter.hit(principal.key_id)
    return principal


def require_roles(*roles: str, acts_for_agent: bool = False) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only callers with one of ``roles`` (403 otherwise).

    Args:
        acts_for_agent: the route records what an agent did (suggest, events, links), so the
            caller is resolved to the agent it acts for by ``X-Agent-Id`` (see
            :func:`service.keys.auth.acting_as`); other routes act as the key itself and ignore
            the header. The role is checked first, so a key that may not use a route hears so
            whatever agent it names. An ``X-Agent-Id`` that is not an identifier
            (:mod:`service.fields`) or reads as personal data is a 422 on field ``x-agent-id``.
    """

    def admit(principal: Principal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this (needs: {', '.join(roles)})")
        return principal

    async def checker(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return admit(principal)

    async def acting_checker(
        request: Request,
        principal: Annotated[Principal, Depends(get_principal)],
        x_agent_id: Annotated[
            AgentId | None, Header(description="The agent acted for (integration keys only).")
        ] = None,
    ) -> Principal:
        admit(principal)
        refuse_pii(request.app.state.masker, field="x-agent-id", value=x_agent_id)
        return acting_as(principal, x_agent_id)

    return acting_checker if acts_for_agent else checker


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
SessionDep = Annotated[Session, Depends(get_session)]
MaskerDep = Annotated[PIIMasker, Depends(get_masker)]
WriterDep = Annotated[RowWriter[SuggestionRow], Depends(get_writer)]
BatcherDep = Annotated[SearchBatcher, Depends(get_batcher)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(require_roles(*ROLES, acts_for_agent=True))]
ReloaderDep = Annotated[Principal, Depends(require_roles("editor", "admin"))]
