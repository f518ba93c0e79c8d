"""Database tables (SQLModel, ``table=True``). API schemas live in ``service.schemas``.

Later tables (feedback events, ticket outcomes, usage analytics, the credit ledger)
point at ``suggestions.id`` and ``api_keys.id``; suggestion ids are UUID hex strings
so other systems can quote them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
ROLES = ("agent", "editor", "admin", "integration")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class ApiKey(SQLModel, table=True):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, index=True, description="First characters of the key, for display.")
    key_hash: str = Field(max_length=64, unique=True, description="sha256 hex of the key.")
    role: str = Field(max_length=16)
    agent_id: str | None = Field(default=None, max_length=64, index=True)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Suggestion(SQLModel, table=True):
    """One answered /v1/suggest call; the query is stored masked."""

    __tablename__ = "suggestions"
    __table_args__ = (
        sa.Index("ix_suggestions_agent_created", "agent_id", "created_at"),
        sa.Index("ix_suggestions_ticket", "ticket_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, index=True, sa_type=sa.DateTime(timezone=True))
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id", index=True)
    agent_id: str | None = Field(default=None, max_length=64)
    ticket_id: str | None = Field(default=None, max_length=128)
    channel: str | None = Field(default=None, max_length=32)
    query: str = Field(sa_type=sa.Text, description="The customer message after PII masking.")
    lang: str | None = Field(default=None, max_length=16)
    mode: str = Field(max_length=16)
    index_version: str = Field(max_length=64, index=True)
    results: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    answerable: bool
    took_ms: float
