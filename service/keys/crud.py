"""Data access for API keys: keyword-only functions taking a Session. No HTTP types here."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlmodel import Session, col, select

from service.db import utcnow
from service.fields import AGENT_ID_MAX, KEY_NAME_MAX, clean_line, identifier_problem
from service.keys.models import ROLES, ApiKey

KEY_PREFIX = "kb_"


def hash_key(key: str) -> str:
    """SHA-256 hex of an API key (keys are 256-bit random, so no salt or KDF is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    *, session: Session, role: str, agent_id: str | None = None, name: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return its row and the plain key (shown once, never stored).

    Raises:
        ValueError: unknown role, an agent key without an agent id, an agent id that is
            too long or not an identifier (:mod:`service.fields`), or a name that is too
            long or holds control characters.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    if role == "agent" and not agent_id:
        raise ValueError("an agent key must be bound to an agent id (--agent-id)")
    if agent_id is not None:
        problem = identifier_problem(agent_id)
        if len(agent_id) > AGENT_ID_MAX or problem is not None:
            raise ValueError(f"agent id: at most {AGENT_ID_MAX} characters, {problem or 'an identifier'}")
    if name is not None and (len(name) > KEY_NAME_MAX or clean_line(name) != name):
        raise ValueError(f"name: at most {KEY_NAME_MAX} characters, no control characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(prefix=key[:10], key_hash=hash_key(key), role=role, agent_id=agent_id, name=name)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row, key


def get_api_key_by_hash(*, session: Session, key_hash: str) -> ApiKey | None:
    """The key row with this hash, revoked or not."""
    return session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def list_api_keys(*, session: Session, include_revoked: bool = True) -> Sequence[ApiKey]:
    """Every key, oldest first."""
    query = select(ApiKey).order_by(col(ApiKey.id))
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    return session.exec(query).all()


def revoke_api_key(*, session: Session, key_id: int) -> ApiKey | None:
    """Mark a key revoked (idempotent); None if there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row
