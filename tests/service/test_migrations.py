"""Migrations 0004 (content gaps), 0005 and 0006 (report indexes), 0007 (the funnel and adoption rollup) on both
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


def gap_diffs(engine, tables=GAP_TABLES):
    """What autogenerate would change in ``tables`` to match the models (nothing, when they agree)."""
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    found = []
    for diff in diffs:
        for item in diff if isinstance(diff, list) else [diff]:
            if any(getattr(part, "name", None) in tables or part in tables for part in item[1:4]):
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


ROLLUP_TABLES = {"usage_pair_hours", "usage_pairs", "usage_ticket_links"}


def rollup_rows(engine):
    """The rollup tables' rows (the last link's event by its time and kind: row ids differ between loads)."""
    columns = {"usage_ticket_links": "ticket_id, article_id, occurred_at, linked"}
    with engine.connect() as conn:
        return [
            sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(sa.text(f"SELECT {columns.get(name, '*')} FROM {name}"))
            )
            for name in sorted(ROLLUP_TABLES)
        ]


def test_0007_builds_the_rollup_of_stored_events_as_the_write_path_keeps_it_and_downgrades(db_url):
    from datetime import UTC, datetime, timedelta

    from service.suggestions.models import Suggestion
    from service.usage import crud, rollup
    from service.usage.models import UsageEvent

    engine = make_engine(db_url)
    start = datetime(2026, 11, 1, 9, 50, tzinfo=UTC)
    kinds = ("shown", "opened", "copied", "linked", "helpful", "unlinked", "dismissed")
    try:
        upgrade(engine)
        downgrade(engine, "0006")
        assert not ROLLUP_TABLES & set(sa.inspect(engine).get_table_names())
        with Session(engine) as session:
            for n in range(3):
                session.add(
                    Suggestion(id=f"m7-{n}", created_at=start, agent_id="a", ticket_id=f"T{n}", query="q",
                               mode="hybrid", index_version="v1", results=[], answerable=True, took_ms=1.0)
                )  # fmt: skip
            session.commit()
        events = [
            UsageEvent(event_id=f"m7-{n}", type=kinds[n % len(kinds)], suggestion_id=f"m7-{n % 3}",
                       ticket_id=f"T{n % 3}", article_id=f"art{n % 2}", agent_id="a", payload_hash="x",
                       occurred_at=start + timedelta(minutes=7 * n))
            for n in range(30)
        ]  # fmt: skip
        with engine.begin() as conn:  # stored before the rollup existed: no rollup rows written
            conn.execute(sa.insert(UsageEvent), [e.model_dump(exclude={"id"}) for e in events])
        upgrade(engine, "0007")
        assert gap_diffs(engine, ROLLUP_TABLES) == []
        built = rollup_rows(engine)
        assert all(built) and built == rollup_rows_rebuilt(engine, rollup)
        with engine.begin() as conn:  # the same events through the write path, from an empty rollup
            conn.execute(sa.text("DELETE FROM usage_pair_hours"))
            conn.execute(sa.text("DELETE FROM usage_pairs"))
            conn.execute(sa.text("DELETE FROM usage_ticket_links"))
            conn.execute(sa.text("DELETE FROM usage_events WHERE event_id LIKE 'm7-%'"))
        with Session(engine) as session:
            crud.record_events(session=session, events=[UsageEvent(**e.model_dump(exclude={"id"})) for e in events])
            session.commit()
        assert rollup_rows(engine) == built
        downgrade(engine, "0006")
        assert not ROLLUP_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(engine)
    finally:
        engine.dispose()


def rollup_rows_rebuilt(engine, rollup):
    with engine.begin() as conn:
        rollup.rebuild(conn)
    return rollup_rows(engine)
