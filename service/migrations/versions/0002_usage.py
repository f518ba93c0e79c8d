"""usage: agents, usage_events, usage_flags, ticket_outcomes, ticket_outcome_agents, articles_seen

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_agents_team", "agents", ["team"])
    op.create_table(
        "usage_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("suggestion_id", sa.String(32), sa.ForeignKey("suggestions.id"), nullable=True),
        sa.Column("ticket_id", sa.String(128), nullable=True),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("index_version", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_usage_events_suggestion_type", "usage_events", ["suggestion_id", "type"])
    op.create_index("ix_usage_events_ticket", "usage_events", ["ticket_id", "occurred_at"])
    op.create_index("ix_usage_events_article_type", "usage_events", ["article_id", "type"])
    op.create_index("ix_usage_events_agent_occurred", "usage_events", ["agent_id", "occurred_at"])
    op.create_index("ix_usage_events_type_occurred", "usage_events", ["type", "occurred_at"])
    op.create_table(
        "usage_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("usage_events.id"), nullable=False, unique=True),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_usage_flags_article_status", "usage_flags", ["article_id", "status"])
    op.create_table(
        "ticket_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_contact_resolution", sa.Boolean(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("complexity", sa.String(2), nullable=True),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("payload_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_ticket_outcomes_ticket_occurred", "ticket_outcomes", ["ticket_id", "occurred_at"])
    op.create_index("ix_ticket_outcomes_status_occurred", "ticket_outcomes", ["status", "occurred_at"])
    op.create_table(
        "ticket_outcome_agents",
        sa.Column("outcome_id", sa.Integer(), sa.ForeignKey("ticket_outcomes.id"), primary_key=True),
        sa.Column("agent_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_ticket_outcome_agents_agent_id", "ticket_outcome_agents", ["agent_id"])
    op.create_table(
        "articles_seen",
        sa.Column("article_id", sa.String(128), primary_key=True),
        sa.Column("first_seen_at", TZ, nullable=False),
        sa.Column("first_index_version", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("articles_seen", "ticket_outcome_agents", "ticket_outcomes", "usage_flags", "usage_events", "agents"):
        op.drop_table(table)
