"""usage_pair_hours, usage_pairs, usage_ticket_links: what the funnel, adoption and link rate read, kept on write

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

``service.usage.rollup`` and ``service.usage.ticket_links`` explain the tables and keep them as events are
stored; this builds the rows of the events already stored (INSERT … SELECT, in the upgrade's transaction). The stage
mapping and use types are those of ``service.usage.models`` when the table was added.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STAGES = (
    "WHEN 'shown' THEN 0 WHEN 'dismissed' THEN 0 WHEN 'gap_reported' THEN 0 WHEN 'helpful' THEN 1 "
    "WHEN 'not_helpful' THEN 1 WHEN 'flagged' THEN 1 WHEN 'opened' THEN 1 WHEN 'copied' THEN 2 "
    "WHEN 'inserted' THEN 2 WHEN 'linked' THEN 3 WHEN 'unlinked' THEN 3"
)
USES = "type IN ('copied', 'inserted', 'linked')"


def upgrade() -> None:
    op.create_table(
        "usage_pair_hours",
        sa.Column("suggestion_id", sa.String(length=32), nullable=False),
        sa.Column("article_id", sa.String(length=128), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=True),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("suggestion_id", "article_id", "hour"),
    )
    op.create_index(
        "ix_usage_pair_hours_hour", "usage_pair_hours", ["hour", "suggestion_id", "article_id", "stage", "ticket_id"]
    )
    op.create_index("ix_usage_pair_hours_used", "usage_pair_hours", ["suggestion_id", "used", "hour"])
    op.create_table(
        "usage_pairs",
        sa.Column("suggestion_id", sa.String(length=32), nullable=False),
        sa.Column("article_id", sa.String(length=128), nullable=False),
        sa.Column("first_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=True),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("suggestion_id", "article_id"),
    )
    op.create_index(
        "ix_usage_pairs_first_hour", "usage_pairs", ["first_hour", "last_hour", "article_id", "stage", "ticket_id"]
    )
    spanning = sa.text("first_hour <> last_hour")
    op.create_index(
        "ix_usage_pairs_spanning",
        "usage_pairs",
        ["first_hour", "last_hour"],
        sqlite_where=spanning,
        postgresql_where=spanning,
    )
    if op.get_bind().dialect.name == "postgresql":
        hour, used = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'", f"bool_or({USES})"
    else:  # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        hour, used = "substr(occurred_at, 1, 13) || ':00:00.000000'", f"max({USES})"
    op.execute(
        "INSERT INTO usage_pair_hours (suggestion_id, article_id, hour, stage, ticket_id, used) "
        f"SELECT suggestion_id, article_id, {hour}, max(CASE type {STAGES} ELSE 0 END), max(ticket_id), {used} "
        "FROM usage_events WHERE suggestion_id IS NOT NULL GROUP BY 1, 2, 3"
    )
    used_pair = "bool_or(used)" if op.get_bind().dialect.name == "postgresql" else "max(used)"
    op.execute(
        "INSERT INTO usage_pairs (suggestion_id, article_id, first_hour, last_hour, stage, ticket_id, used) "
        f"SELECT suggestion_id, article_id, min(hour), max(hour), max(stage), max(ticket_id), {used_pair} "
        "FROM usage_pair_hours GROUP BY 1, 2"
    )

    op.create_table(
        "usage_ticket_links",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("article_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_row_id", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "article_id"),
    )
    op.execute(
        "INSERT INTO usage_ticket_links (ticket_id, article_id, occurred_at, event_row_id, linked) "
        "SELECT ticket_id, article_id, occurred_at, id, type = 'linked' FROM ("
        "SELECT ticket_id, article_id, occurred_at, id, type, row_number() OVER "
        "(PARTITION BY ticket_id, article_id ORDER BY occurred_at DESC, id DESC) AS position FROM usage_events "
        "WHERE type IN ('linked', 'unlinked') AND ticket_id IS NOT NULL AND ticket_id <> '') AS ranked "
        "WHERE position = 1"
    )


def downgrade() -> None:
    op.drop_table("usage_ticket_links")
    op.drop_index("ix_usage_pairs_spanning", table_name="usage_pairs")
    op.drop_index("ix_usage_pairs_first_hour", table_name="usage_pairs")
    op.drop_table("usage_pairs")
    op.drop_index("ix_usage_pair_hours_used", table_name="usage_pair_hours")
    op.drop_index("ix_usage_pair_hours_hour", table_name="usage_pair_hours")
    op.drop_table("usage_pair_hours")
