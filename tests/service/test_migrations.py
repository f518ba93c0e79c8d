"""Migrations 0004 (content gaps), 0005 and 0006 (report indexes), 0007 and 0008 (rows kept on write) on both
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
KEPT_TABLES = {"usage_suggestion_uses", "usage_article_hours", "usage_article_version_hours", "usage_ticket_latest"}


def rollup_rows(engine, tables=ROLLUP_TABLES | KEPT_TABLES):
    """The rows kept on write (the last link's event and the latest outcome by their content: row ids differ
    between loads)."""
    columns = {
        "usage_ticket_links": "ticket_id, article_id, occurred_at, linked, first_at",
        "usage_ticket_latest": "ticket_id, status, occurred_at, team, channel, first_at",
    }
    with engine.connect() as conn:
        return [
            sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(sa.text(f"SELECT {columns.get(name, '*')} FROM {name}"))
            )
            for name in sorted(tables)
        ]


def test_0007_and_0008_build_the_rows_of_stored_events_and_outcomes_as_the_write_path_keeps_them(db_url):
    from datetime import UTC, datetime, timedelta

    from service.suggestions.models import Suggestion
    from service.usage import crud, rollup
    from service.usage.models import TicketOutcome, UsageEvent

    engine = make_engine(db_url)
    start = datetime(2026, 11, 1, 9, 50, tzinfo=UTC)
    kinds = ("shown", "opened", "copied", "linked", "helpful", "unlinked", "dismissed", "not_helpful", "inserted")
    try:
        upgrade(engine)
        downgrade(engine, "0006")
        assert not (ROLLUP_TABLES | KEPT_TABLES) & set(sa.inspect(engine).get_table_names())
        with Session(engine) as session:
            for n in range(3):
                session.add(
                    Suggestion(id=f"m7-{n}", created_at=start, agent_id="a", ticket_id=f"T{n}", query="q",
                               mode="hybrid", index_version="v1", results=[], answerable=True, took_ms=1.0,
                               channel=("chat", None, "")[n])
                )  # fmt: skip
            session.commit()
        events = [
            UsageEvent(event_id=f"m7-{n}", type=kinds[n % len(kinds)], suggestion_id=f"m7-{n % 3}",
                       ticket_id=f"T{n % 3}", article_id=f"art{n % 2}", agent_id="a", payload_hash="x",
                       index_version=("v1", "v2", None)[n % 3], occurred_at=start + timedelta(minutes=7 * n))
            for n in range(30)
        ]  # fmt: skip
        statuses = ("resolved", "reopened", "resolved", "closed")
        outcomes = [
            TicketOutcome(
                idempotency_key=f"m8-{n}",
                ticket_id=f"T{n % 3}",
                status=statuses[n % 4],
                team=("t1", None)[n % 2],
                channel="chat",
                payload_hash="x",
                occurred_at=start + timedelta(hours=5 * (n % 2)),
            )
            for n in range(10)
        ]  # fmt: skip (ties in time on one ticket: the later id is the latest)
        with engine.begin() as conn:  # stored before the tables existed: no rows kept
            conn.execute(sa.insert(UsageEvent), [e.model_dump(exclude={"id"}) for e in events])
            conn.execute(sa.insert(TicketOutcome), [o.model_dump(exclude={"id"}) for o in outcomes])
        upgrade(engine, "0007")
        (added,) = gap_diffs(engine, ROLLUP_TABLES)  # the column 0008 adds
        assert (added[0], added[2], added[3].name) == ("add_column", "usage_ticket_links", "first_at")
        assert not KEPT_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(engine, "0008")
        assert gap_diffs(engine, KEPT_TABLES | ROLLUP_TABLES) == []
        inspector = sa.inspect(engine)
        for name in KEPT_TABLES | {"usage_ticket_links", "agents"}:  # the indexes the models declare, 0008's too
            found = {i["name"]: i["column_names"] for i in inspector.get_indexes(name)}
            declared = {i.name: [c.name for c in i.columns] for i in SQLModel.metadata.tables[name].indexes}
            assert found == declared, name
        built = rollup_rows(engine)
        assert all(built) and built == rollup_rows_rebuilt(engine, rollup)
        with engine.begin() as conn:  # the same events and outcomes through the write path, from empty tables
            for name in sorted(ROLLUP_TABLES | KEPT_TABLES):
                conn.execute(sa.text(f"DELETE FROM {name}"))
            conn.execute(sa.text("DELETE FROM usage_events WHERE event_id LIKE 'm7-%'"))
            conn.execute(sa.text("DELETE FROM ticket_outcomes WHERE idempotency_key LIKE 'm8-%'"))
        with Session(engine) as session:
            crud.record_events(session=session, events=[UsageEvent(**e.model_dump(exclude={"id"})) for e in events])
            session.commit()
            for outcome in outcomes:
                crud.record_outcome(session=session, outcome=TicketOutcome(**outcome.model_dump(exclude={"id"})),
                                    agent_ids=["a"])  # fmt: skip
        assert rollup_rows(engine) == built
        downgrade(engine, "0007")
        assert not KEPT_TABLES & set(sa.inspect(engine).get_table_names())
        assert ROLLUP_TABLES <= set(sa.inspect(engine).get_table_names())
        downgrade(engine, "0006")
        assert not ROLLUP_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(engine)
    finally:
        engine.dispose()


def rollup_rows_rebuilt(engine, rollup):
    with engine.begin() as conn:
        rollup.rebuild(conn)
    return rollup_rows(engine)
