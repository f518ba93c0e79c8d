"""The ``api_keys`` table."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import utcnow
from service.fields import AGENT_ID_MAX, KEY_NAME_MAX

ROLES = ("agent", "editor", "admin", "integration")


class ApiKey(SQLModel, table=True):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, index=True, description="First characters of the key, for display.")
    key_hash: str = Field(max_length=64, unique=True, description="sha256 hex of the key.")
    role: str = Field(max_length=16)
    agent_id: str | None = Field(default=None, max_length=AGENT_ID_MAX, index=True)
    name: str | None = Field(default=None, max_length=KEY_NAME_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
