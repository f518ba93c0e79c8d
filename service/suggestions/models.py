"""The ``suggestions`` table and the typed row that travels from the route to the insert.

:class:`SuggestionRow` is validated when the route builds it, so a renamed column or an
over-long value fails there (and under mypy), not later in the writer thread.

Later tables (feedback events, ticket outcomes, usage analytics, the credit ledger)
point at ``suggestions.id`` and ``api_keys.id``; suggestion ids are UUID hex strings
so other systems can quote them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from indexer.config import SearchMode
from service.db import JSONType, utcnow
from service.fields import AGENT_ID_MAX, CHANNEL_MAX, LANG_MAX, TICKET_ID_MAX, Channel, KeyAgentId, Lang, Text, TicketId


class ScoredArticle(TypedDict):
    """One result as recorded: which article, with which score."""

    article_id: str
    score: float


class SuggestionRow(SQLModel):
    """One answered /v1/suggest call, as inserted; the query is stored masked."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    id: str = Field(primary_key=True, min_length=32, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id", index=True)
    agent_id: KeyAgentId | None = Field(default=None, sa_type=sa.String(AGENT_ID_MAX))
    ticket_id: TicketId | None = Field(default=None, sa_type=sa.String(TICKET_ID_MAX))
    channel: Channel | None = Field(default=None, sa_type=sa.String(CHANNEL_MAX))
    query: Text = Field(sa_type=sa.Text, description="The customer message after PII masking.")
    lang: Lang | None = Field(default=None, sa_type=sa.String(LANG_MAX))
    mode: SearchMode = Field(sa_type=sa.String(16))
    index_version: str = Field(max_length=64, index=True)
    results: list[ScoredArticle] = Field(default_factory=list, sa_type=JSONType)
    answerable: bool
    took_ms: float


class Suggestion(SuggestionRow, table=True):
    """The stored suggestions."""

    __tablename__ = "suggestions"
    __table_args__ = (
        sa.Index("ix_suggestions_agent_created", "agent_id", "created_at"),
        sa.Index("ix_suggestions_ticket", "ticket_id", "created_at"),
        # A month's suggestions with what adoption groups them by, read from the index alone (migration 0006).
        sa.Index("ix_suggestions_created_at", "created_at", "id", "agent_id"),
    )
