"""content gaps: content_gaps, credit_article_versions.gap_id

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "content_gaps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("examples", JSON, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("closest_article", sa.String(128), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_by_article", sa.String(128), nullable=True),
        sa.Column("closed_by_version", sa.String(64), nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
    )
    op.create_index("ix_content_gaps_status_recorded", "content_gaps", ["status", "recorded_at"])
    with op.batch_alter_table("credit_article_versions") as batch:
        batch.add_column(sa.Column("gap_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credit_article_versions") as batch:
        batch.drop_column("gap_id")
    op.drop_index("ix_content_gaps_status_recorded", table_name="content_gaps")
    op.drop_table("content_gaps")
