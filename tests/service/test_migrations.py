"""Migrations 0004 (content gaps), 0005 and 0006 (report indexes) on both databases: upgrade, match the models,
downgrade."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from service.db import MIGRATIONS, make_engine, upgrade
from service.usage import gap_records

GAP_TABLES = {"content_gaps", "credit_article_versions"}


def downgrade(engine, revision):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def gap_diffs(engine):
    """What autogenerate would change in the gap tables to match the models (nothing, when they agree)."""
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    found = []
    for diff in diffs:
        for item in diff if isinstance(diff, list) else [diff]:
            if any(getattr(part, "name", None) in GAP_TABLES or part in GAP_TABLES for part in item[1:4]):
                found.append(item)
    return found


def test_0004_upgrades_existing_versions_matches_the_models_and_downgrades(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0003")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO credit_article_versions (article_id, content_hash, authors, tags, chars, "
                    "index_version, first_seen_at) VALUES ('a1', 'h1', '[]', '[]', 10, 'b1', '2026-12-01 00:00:00+00')"
                )
            )
        upgrade(engine, "0004")
        inspector = sa.inspect(engine)
        assert "content_gaps" in inspector.get_table_names()
        assert "ix_content_gaps_status_recorded" in {i["name"] for i in inspector.get_indexes("content_gaps")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT gap_id FROM credit_article_versions")).all() == [(None,)]
        upgrade(engine)
        assert gap_diffs(engine) == []
        with Session(engine) as session:
            gap, created = gap_records.record_gap(
                session=session, examples=["x"], title=None, size=1, closest_article=None, recorded_by="t"
            )
        assert created and gap.status == "open"
        downgrade(engine, "0003")
        inspector = sa.inspect(engine)
        assert "content_gaps" not in inspector.get_table_names()
        assert "gap_id" not in {c["name"] for c in inspector.get_columns("credit_article_versions")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT article_id FROM credit_article_versions")).all() == [("a1",)]
        upgrade(engine)
    finally:
        engine.dispose()


def test_0005_adds_the_report_indexes_the_models_declare_and_downgrades(db_url):
    engine = make_engine(db_url)
    report_indexes = {
        "ix_usage_events_pairs",
        "ix_usage_events_article_version",
        "ix_usage_events_type_time",
        "ix_usage_events_type_agent",
    }
    try:
        upgrade(engine)
        downgrade(engine, "0004")
        assert not report_indexes & {i["name"] for i in sa.inspect(engine).get_indexes("usage_events")}
        upgrade(engine, "0005")
        names = {i["name"] for i in sa.inspect(engine).get_indexes("usage_events")}
        assert report_indexes <= names and "ix_usage_events_type_occurred" not in names
        downgrade(engine, "0004")
        names = {i["name"] for i in sa.inspect(engine).get_indexes("usage_events")}
        assert not report_indexes & names and "ix_usage_events_type_occurred" in names
        upgrade(engine)
    finally:
        engine.dispose()


def index_columns(engine, table):
    return {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes(table)}


def test_0006_adds_and_widens_the_dashboard_indexes_the_models_declare_and_downgrades(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        index_diffs = [
            d
            for d in diffs
            if not isinstance(d, list) and "index" in d[0] and d[1].table.name in ("usage_events", "suggestions")
        ]
        assert index_diffs == []
        events, suggestions = index_columns(engine, "usage_events"), index_columns(engine, "suggestions")
        assert events["ix_usage_events_type_ticket"] == ["type", "ticket_id", "occurred_at", "article_id"]
        assert events["ix_usage_events_suggestion_type"] == ["suggestion_id", "type", "occurred_at"]
        assert suggestions["ix_suggestions_ticket"] == ["ticket_id", "created_at"]
        assert suggestions["ix_suggestions_created_at"] == ["created_at", "id", "agent_id"]
        downgrade(engine, "0005")
        events, suggestions = index_columns(engine, "usage_events"), index_columns(engine, "suggestions")
        assert "ix_usage_events_type_ticket" not in events
        assert events["ix_usage_events_suggestion_type"] == ["suggestion_id", "type"]
        assert suggestions["ix_suggestions_ticket"] == ["ticket_id"]
        assert suggestions["ix_suggestions_created_at"] == ["created_at"]
        upgrade(engine)
    finally:
        engine.dispose()
