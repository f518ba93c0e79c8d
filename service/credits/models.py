"""Ledger tables: append-only entries, the per-agent balance row they keep, served article versions, cursors.

``credit_entries`` rows are inserted, never updated or deleted (no code path does either);
a correction is a reversal entry pointing at the entry it reverses (``reverses_id``, unique:
an entry is reversed at most once). ``credit_balances`` caches each agent's sum of entries,
changed in the same transaction as the entries, and is the row a balance check locks
(``SELECT … FOR UPDATE``); ``kbassist credits verify`` recomputes it from the entries.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.db import JSONType, utcnow

TZ = sa.DateTime(timezone=True)


class CreditEntry(SQLModel, table=True):
    """One ledger entry: who, how many points (signed), by which rule and version, and the facts behind it."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        sa.Index("ix_credit_entries_agent_created", "agent_id", "created_at"),
        sa.Index("ix_credit_entries_ticket", "ticket_id"),
        sa.Index("ix_credit_entries_fact", "fact_key"),
        sa.Index("ix_credit_entries_rule_created", "rule_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agent_id: str = Field(max_length=64)
    points: int
    rule_id: str = Field(max_length=32)
    rules_version: str = Field(max_length=16)
    reason: str = Field(sa_type=sa.Text)
    fact_key: str = Field(max_length=255, description="The fact rewarded; one standing credit per fact.")
    idempotency_key: str = Field(max_length=300, unique=True)
    payload_hash: str = Field(max_length=64, description="sha256 of the entry's content; a reused key must match.")
    article_id: str | None = Field(default=None, max_length=128)
    content_hash: str | None = Field(default=None, max_length=64)
    ticket_id: str | None = Field(default=None, max_length=128)
    event_id: int | None = Field(default=None, description="usage_events.id")
    outcome_id: int | None = Field(default=None, description="ticket_outcomes.id")
    flag_id: int | None = Field(default=None, description="usage_flags.id")
    reward: str | None = Field(default=None, max_length=200, description="A redemption's reward.")
    actor: str | None = Field(
        default=None, max_length=64, description="Who made a manual entry (key name or CLI user)."
    )
    reverses_id: int | None = Field(default=None, foreign_key="credit_entries.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class CreditBalance(SQLModel, table=True):
    """An agent's balance: the sum of their entries, locked by every balance check."""

    __tablename__ = "credit_balances"

    agent_id: str = Field(primary_key=True, max_length=64)
    balance: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class ArticleVersion(SQLModel, table=True):
    """A content version of an article the first time a build served it (publication credits read it)."""

    __tablename__ = "credit_article_versions"

    article_id: str = Field(primary_key=True, max_length=128)
    content_hash: str = Field(primary_key=True, max_length=64)
    authors: list[str] = Field(default_factory=list, sa_type=JSONType)
    tags: list[str] = Field(default_factory=list, sa_type=JSONType)
    gap_id: str | None = Field(default=None, max_length=32, description="The content gap its front matter names.")
    chars: int = 0
    index_version: str = Field(max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class CreditCursor(SQLModel, table=True):
    """How far settling has read a usage table (the last row id it processed)."""

    __tablename__ = "credit_cursors"

    name: str = Field(primary_key=True, max_length=32)
    position: int = 0
