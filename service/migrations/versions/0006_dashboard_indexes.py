"""usage indexes for the dashboard's month: links of a ticket, uses of a suggestion, suggestions in time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Each lets a report's per-row probe or scan read an index alone instead of a table row per entry
(bench/README.md, "Dashboard requests", has the figures): the link and unlink events of a ticket
in time (net links, and "was the ticket seen before" of the reuse report), a suggestion's uses in
time (adoption), a ticket's suggestions in time (reuse), and a month's suggestions with their id
and agent (adoption). The last three widen an existing index.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ADDED = {"ix_usage_events_type_ticket": ("usage_events", ["type", "ticket_id", "occurred_at", "article_id"])}
# name: (table, columns before, columns after)
WIDENED = {
    "ix_usage_events_suggestion_type": (
        "usage_events",
        ["suggestion_id", "type"],
        ["suggestion_id", "type", "occurred_at"],
    ),
    "ix_suggestions_ticket": ("suggestions", ["ticket_id"], ["ticket_id", "created_at"]),
    "ix_suggestions_created_at": ("suggestions", ["created_at"], ["created_at", "id", "agent_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in ADDED.items():
        op.create_index(name, table, columns)
    for name, (table, _before, after) in WIDENED.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after)


def downgrade() -> None:
    for name, (table, before, _after) in WIDENED.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
    for name, (table, _columns) in ADDED.items():
        op.drop_index(name, table_name=table)
