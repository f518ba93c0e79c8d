"""credits: credit_entries, credit_balances, credit_article_versions, credit_cursors

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fact_key", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(128), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("outcome_id", sa.Integer(), nullable=True),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("reward", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("reverses_id", sa.Integer(), sa.ForeignKey("credit_entries.id"), nullable=True, unique=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_credit_entries_agent_created", "credit_entries", ["agent_id", "created_at"])
    op.create_index("ix_credit_entries_ticket", "credit_entries", ["ticket_id"])
    op.create_index("ix_credit_entries_fact", "credit_entries", ["fact_key"])
    op.create_index("ix_credit_entries_rule_created", "credit_entries", ["rule_id", "created_at"])
    op.create_table(
        "credit_balances",
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "credit_article_versions",
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("authors", JSON, nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("index_version", sa.String(64), nullable=False),
        sa.Column("first_seen_at", TZ, nullable=False),
    )
    op.create_table(
        "credit_cursors",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("credit_cursors", "credit_article_versions", "credit_balances", "credit_entries"):
        op.drop_table(table)
