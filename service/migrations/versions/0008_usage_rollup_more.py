"""usage_suggestion_uses, usage_article_hours, usage_article_version_hours, usage_ticket_latest: kept on write

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

What adoption, the articles report, the link rate and the funnel's solved tickets read, kept as events and
outcomes are stored (``service.usage.suggestion_uses``, ``article_rollup`` and ``ticket_latest`` explain the
tables); this builds the rows of the events and outcomes already stored (INSERT … SELECT, in the upgrade's
transaction); the time of each (ticket, article)'s first link event beside its last, and two indexes of those rows:
by time (a range's net links, ``ticket_links.net_links``)
and by ticket with the link flag (the link rate's probe); and agents by id with their team (team reports' lookups).
The use and counted types are those of ``service.usage.models`` when the tables were added.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

USES = "'copied', 'inserted', 'linked'"
COUNTED = "'copied', 'inserted', 'linked', 'helpful', 'not_helpful'"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_suggestion_uses",
        sa.Column("suggestion_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("first_use_at", TZ, nullable=False),
        sa.Column("last_use_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("suggestion_id"),
    )
    op.create_index(
        "ix_usage_suggestion_uses_created",
        "usage_suggestion_uses",
        ["created_at", "first_use_at", "last_use_at", "agent_id", "channel", "suggestion_id"],
    )
    op.create_table(
        "usage_article_hours",
        sa.Column("article_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("hour", TZ, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "type", "hour"),
    )
    op.create_index(
        "ix_usage_article_hours_hour", "usage_article_hours", ["hour", "article_id", "type", "count", "last_at"]
    )
    op.create_table(
        "usage_article_version_hours",
        sa.Column("article_id", sa.String(length=128), nullable=False),
        sa.Column("index_version", sa.String(length=64), nullable=False),
        sa.Column("hour", TZ, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "index_version", "hour"),
    )
    op.create_index(
        "ix_usage_article_version_hours_hour", "usage_article_version_hours", ["hour", "article_id", "index_version"]
    )
    op.create_table(
        "usage_ticket_latest",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("first_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index(
        "ix_usage_ticket_latest_occurred",
        "usage_ticket_latest",
        ["occurred_at", "first_at", "status", "ticket_id", "outcome_id", "team", "channel"],
    )

    op.add_column("usage_ticket_links", sa.Column("first_at", TZ, nullable=True))
    op.execute(
        "UPDATE usage_ticket_links SET first_at = (SELECT min(occurred_at) FROM usage_events AS e "
        "WHERE e.type IN ('linked', 'unlinked') AND e.ticket_id = usage_ticket_links.ticket_id "
        "AND e.article_id = usage_ticket_links.article_id)"
    )
    op.create_index(
        "ix_usage_ticket_links_occurred",
        "usage_ticket_links",
        ["occurred_at", "first_at", "ticket_id", "article_id", "linked"],
    )
    op.create_index("ix_usage_ticket_links_linked", "usage_ticket_links", ["ticket_id", "linked"])
    op.create_index("ix_agents_active_team", "agents", ["agent_id", "active", "team"])

    if op.get_bind().dialect.name == "postgresql":
        hour = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:  # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        hour = "substr(occurred_at, 1, 13) || ':00:00.000000'"
    op.execute(
        "INSERT INTO usage_suggestion_uses (suggestion_id, created_at, agent_id, channel, first_use_at, last_use_at) "
        "SELECT s.id, s.created_at, s.agent_id, s.channel, u.first_use_at, u.last_use_at FROM suggestions AS s "
        "JOIN (SELECT suggestion_id, min(occurred_at) AS first_use_at, max(occurred_at) AS last_use_at "
        f"FROM usage_events WHERE type IN ({USES}) AND suggestion_id IS NOT NULL "
        "GROUP BY suggestion_id) AS u ON u.suggestion_id = s.id"
    )
    op.execute(
        "INSERT INTO usage_article_hours (article_id, type, hour, count, last_at) "
        f"SELECT article_id, type, {hour}, count(*), max(occurred_at) FROM usage_events WHERE type IN ({COUNTED}) "
        "GROUP BY 1, 2, 3"
    )
    op.execute(
        "INSERT INTO usage_article_version_hours (article_id, index_version, hour) "
        f"SELECT DISTINCT article_id, index_version, {hour} FROM usage_events WHERE index_version IS NOT NULL"
    )
    op.execute(
        "INSERT INTO usage_ticket_latest (ticket_id, outcome_id, status, occurred_at, team, channel, first_at) "
        "SELECT ticket_id, id, status, occurred_at, team, channel, first_at FROM ("
        "SELECT ticket_id, id, status, occurred_at, team, channel, "
        "min(occurred_at) OVER (PARTITION BY ticket_id) AS first_at, "
        "row_number() OVER (PARTITION BY ticket_id ORDER BY occurred_at DESC, id DESC) AS position "
        "FROM ticket_outcomes) AS ranked WHERE position = 1"
    )


def downgrade() -> None:
    op.drop_index("ix_agents_active_team", table_name="agents")
    op.drop_index("ix_usage_ticket_links_linked", table_name="usage_ticket_links")
    op.drop_index("ix_usage_ticket_links_occurred", table_name="usage_ticket_links")
    op.drop_column("usage_ticket_links", "first_at")
    op.drop_index("ix_usage_ticket_latest_occurred", table_name="usage_ticket_latest")
    op.drop_table("usage_ticket_latest")
    op.drop_index("ix_usage_article_version_hours_hour", table_name="usage_article_version_hours")
    op.drop_table("usage_article_version_hours")
    op.drop_index("ix_usage_article_hours_hour", table_name="usage_article_hours")
    op.drop_table("usage_article_hours")
    op.drop_index("ix_usage_suggestion_uses_created", table_name="usage_suggestion_uses")
    op.drop_table("usage_suggestion_uses")
