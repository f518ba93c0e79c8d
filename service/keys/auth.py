"""API-key authentication: who is calling, for which agent, and what they may see.

Keys are looked up by their SHA-256. A verified key is cached for
``KB_KEY_CACHE_SECONDS`` so the suggest path does not hit the database on every
call; a revoked key therefore stops working within that time. Only keys that
verified are cached, in a bounded LRU: a flood of random keys costs one lookup each
but cannot push the real callers' keys out (a cache of every answer, cleared when
full, sent every caller back to the database).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.errors import Forbidden, InvalidInput
from service.keys import crud

CACHED_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a request."""

    key_id: int
    role: str
    agent_id: str | None
    internal: bool


def acting_as(principal: Principal, agent_id: str | None) -> Principal:
    """The principal as it acts for ``agent_id`` (the ``X-Agent-Id`` header).

    Only an integration key acts for another agent, and it must say which: once
    suggestions earn credits, anything else would let one key credit another agent.

    ============  ===================  =====================  ==================
    role          no X-Agent-Id        X-Agent-Id = own id    X-Agent-Id = other
    ============  ===================  =====================  ==================
    agent         its own agent        its own agent          403 forbidden
    editor/admin  its own (or none)    its own agent          403 forbidden
    integration   422 x-agent-id       the named agent        the named agent
    ============  ===================  =====================  ==================

    Raises:
        Forbidden: a non-integration key names an agent other than its own.
        InvalidInput: an integration key names no agent.
    """
    if principal.role == "integration":
        if not agent_id:
            message = "x-agent-id: integration keys must name the agent they act for"
            detail = {"field": "x-agent-id", "message": "integration keys must name the agent", "type": "missing"}
            raise InvalidInput(message, details=[detail])
        return Principal(principal.key_id, principal.role, agent_id, principal.internal)
    if agent_id and agent_id != principal.agent_id:
        raise Forbidden(f"{principal.role} keys may act only as themselves", details={"agent_id": agent_id})
    return principal


class KeyVerifier:
    """Checks presented keys against the ``api_keys`` table, with a short cache."""

    def __init__(self, engine: Engine, *, cache_seconds: float, integration_internal: bool) -> None:
        self._engine = engine
        self._integration_internal = integration_internal
        self._cache: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=CACHED_KEYS, ttl=cache_seconds) if cache_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def cached(self, key: str) -> Principal | None:
        """The principal of a recently verified ``key`` from the cache only: no I/O, safe on the event loop."""
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(crud.hash_key(key))

    def verify(self, key: str) -> Principal | None:
        """The principal for ``key``, or None if it is unknown or revoked (may query the DB)."""
        digest = crud.hash_key(key)
        with Session(self._engine) as session:
            row = crud.get_api_key_by_hash(session=session, key_hash=digest)
        principal = None
        # The lookup is by hash; comparing again in constant time keeps timing independent of the stored value.
        if (
            row is not None
            and row.revoked_at is None
            and row.id is not None
            and hmac.compare_digest(row.key_hash, digest)
        ):
            internal = row.role != "integration" or self._integration_internal
            principal = Principal(key_id=row.id, role=row.role, agent_id=row.agent_id, internal=internal)
        if self._cache is not None:
            with self._lock:
                if principal is None:
                    self._cache.pop(digest, None)
                else:
                    self._cache[digest] = principal
        return principal
