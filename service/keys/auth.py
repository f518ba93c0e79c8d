"""API-key authentication: who is calling, for which agent, and what they may see.

Keys are looked up by their SHA-256. A verified key is cached for
``KB_KEY_CACHE_SECONDS`` so the suggest path does not hit the database on every
call; a revoked key therefore stops working within that time.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.keys import crud


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a request."""

    key_id: int
    role: str
    agent_id: str | None
    internal: bool


class KeyVerifier:
    """Checks presented keys against the ``api_keys`` table, with a short cache."""

    def __init__(self, engine: Engine, *, cache_seconds: float, integration_internal: bool) -> None:
        self._engine = engine
        self._ttl = cache_seconds
        self._integration_internal = integration_internal
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, Principal | None]:
        """``(hit, principal)`` from the cache only: no I/O, safe on the event loop."""
        entry = self._cache.get(crud.hash_key(key))
        if entry is not None and entry[0] > time.monotonic():
            return True, entry[1]
        return False, None

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
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + self._ttl, principal)
        return principal
