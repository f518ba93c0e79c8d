"""api_keys and suggestions

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])
    op.create_index("ix_api_keys_agent_id", "api_keys", ["agent_id"])
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("index_version", sa.String(64), nullable=False),
        sa.Column("results", JSONType, nullable=False),
        sa.Column("answerable", sa.Boolean(), nullable=False),
        sa.Column("took_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_suggestions_created_at", "suggestions", ["created_at"])
    op.create_index("ix_suggestions_api_key_id", "suggestions", ["api_key_id"])
    op.create_index("ix_suggestions_index_version", "suggestions", ["index_version"])
    op.create_index("ix_suggestions_agent_created", "suggestions", ["agent_id", "created_at"])
    op.create_index("ix_suggestions_ticket", "suggestions", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("suggestions")
    op.drop_table("api_keys")
