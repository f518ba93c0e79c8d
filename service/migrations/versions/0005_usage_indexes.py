"""usage indexes for the reports counted in SQL (service/usage/aggregates.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Each index covers a report's scan of a month of events, so it reads the index alone: the funnel's
(suggestion, article) pairs in order, the per-article index versions in order, and (type, time)
widened with article and agent for the per-article counts and participation over a date range,
and (type, agent, article) for per-agent lookups (bench/usage_bench.py has the figures).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_usage_events_pairs": ["suggestion_id", "article_id", "type", "occurred_at", "ticket_id"],
    "ix_usage_events_article_version": ["article_id", "index_version", "type", "occurred_at"],
    "ix_usage_events_type_time": ["type", "occurred_at", "article_id", "agent_id"],
    # Without it SQLite (no ANALYZE) answers the credit ledger's "did this agent see this article"
    # through ix_usage_events_type_time, scanning every shown event (seconds per settle run).
    "ix_usage_events_type_agent": ["type", "agent_id", "article_id", "occurred_at"],
}
REPLACED = ("ix_usage_events_type_occurred", ["type", "occurred_at"])  # a prefix of ix_usage_events_type_time


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "usage_events", columns)
    op.drop_index(REPLACED[0], table_name="usage_events")


def downgrade() -> None:
    op.create_index(REPLACED[0], "usage_events", REPLACED[1])
    for name in INDEXES:
        op.drop_index(name, table_name="usage_events")
