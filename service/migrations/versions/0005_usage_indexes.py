"""usage indexes for the reports counted in SQL (service/usage/aggregates.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Each index covers one report's scan of a month of events, so it reads the index alone, in order:
the funnel's (suggestion, article) pairs, the per-article counts and index versions, and the
per-agent participation counts (bench/usage_bench.py has the figures).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_usage_events_pairs": ["suggestion_id", "article_id", "type", "occurred_at", "ticket_id"],
    "ix_usage_events_article_version": ["article_id", "index_version", "type", "occurred_at"],
    "ix_usage_events_type_agent": ["type", "agent_id", "article_id", "occurred_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "usage_events", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="usage_events")
