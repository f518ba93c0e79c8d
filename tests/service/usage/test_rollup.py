"""The rows kept on write (pairs per hour and overall, tickets' last links and latest outcomes, used suggestions,
article hours) as the write path keeps them, on SQLite and PostgreSQL.

Events go through ``crud.record_events`` in a shuffled order (late and backdated ones among them), in
batches that repeat ids and are retried, and from concurrent writers; outcomes through ``crud.record_outcome``
shuffled, retried and concurrently. The funnel, adoption, link rate and articles reports counted from the kept
rows must equal their Python definitions over the events and outcomes, for ranges whose edges cut hours (a
half-hour zone, minutes) as well as whole-hour ones, and the kept rows must equal those rebuilt from the stored
events and outcomes (what migrations 0007 and 0008 build).
"""

import itertools
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.db import make_engine, upgrade
from service.suggestions.models import Suggestion
from service.usage import analytics, crud, rollup
from service.usage.analytics import Options
from service.usage.facts import load_facts
from service.usage.models import (
    ArticleHour,
    ArticleVersionHour,
    Pair,
    PairHour,
    SuggestionUse,
    TicketLatest,
    TicketLink,
    TicketOutcome,
    TicketOutcomeAgent,
    UsageEvent,
)
from service.usage.reports import KB, NEEDS, python_report, run_report
from tests.service.usage.test_aggregates import month_of_usage

START = datetime(2026, 10, 25, tzinfo=UTC)
RANGES = [
    (None, None),
    (datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)),
    (datetime(2026, 11, 5, 10, 30, tzinfo=UTC), datetime(2026, 11, 20, 5, 45, tzinfo=UTC)),  # part-hours at both ends
    (datetime(2026, 11, 6, 10, 10, tzinfo=UTC), datetime(2026, 11, 6, 10, 50, tzinfo=UTC)),  # inside one hour
    (datetime(2026, 11, 6, 10, 40, tzinfo=UTC), datetime(2026, 11, 6, 11, 20, tzinfo=UTC)),  # across one hour's end
    (None, datetime(2026, 11, 12, 7, 7, tzinfo=UTC)),
]
GROUPS = ("all", "team", "agent", "channel")
ZONES = [ZoneInfo("Asia/Kolkata"), ZoneInfo("Asia/Shanghai")]


def events_with_minutes(seed: int) -> list[dict]:
    """The aggregates' test events, moved by random minutes and seconds so ranges cut their hours."""
    rng = random.Random(seed)
    events = month_of_usage()[UsageEvent]
    for e in events:
        e["occurred_at"] += timedelta(minutes=rng.randrange(0, 120), seconds=rng.randrange(60))
    # A burst inside one hour and across its end, on one pair, for the one-hour ranges.
    for k, minute in enumerate((5, 15, 35, 45, 55, 65, 75)):
        kind = ("shown", "opened", "copied", "shown", "linked", "opened", "inserted")[k]
        at = datetime(2026, 11, 6, 10, tzinfo=UTC) + timedelta(minutes=minute)
        events.append({**events[0], "event_id": f"burst{k}", "type": kind, "occurred_at": at})
    # Pairs spanning the whole-hour range's edges: their last hour is its first, their first hour its last.
    for n, (first, second) in enumerate((((4, 23), (5, 0)), ((19, 23), (20, 0)))):
        for k, ((day, hour), kind) in enumerate(zip((first, second), ("opened", "linked"), strict=True)):
            at = datetime(2026, 11, day, hour, 30, tzinfo=UTC)
            events.append({**events[0], "suggestion_id": "edge", "event_id": f"edge{n}{k}", "type": kind,
                           "article_id": f"art{n}", "occurred_at": at})  # fmt: skip
    return events


@pytest.fixture(scope="module")
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    data = month_of_usage()
    with engine.begin() as conn:
        for model, rows in data.items():
            if model not in (UsageEvent, TicketOutcome, TicketOutcomeAgent):
                conn.execute(sa.insert(model), rows)
        edge = {**data[Suggestion][0], "id": "edge", "created_at": datetime(2026, 11, 4, tzinfo=UTC)}
        conn.execute(sa.insert(Suggestion), [edge])
    write_shuffled(engine, events_with_minutes(seed=3), seed=4)
    write_outcomes(engine, outcomes_with_agents(data), seed=6)
    yield engine
    engine.dispose()


def record(engine, rows: list[dict]) -> None:
    with Session(engine) as session, crud.writing(session):
        results = crud.record_events(session=session, events=[UsageEvent(**r) for r in rows])
        assert not [r for r in results if isinstance(r, crud.KeyReused)]
        session.commit()


def write_shuffled(engine, events: list[dict], seed: int) -> None:
    """Every event through the write path: shuffled, in batches of 1-9, an id twice in some batches, retries."""
    rng = random.Random(seed)
    order = events[:]
    rng.shuffle(order)
    n = 0
    while n < len(order):
        batch = order[n : n + rng.randrange(1, 10)]
        n += len(batch)
        if rng.random() < 0.3:
            batch = [*batch, batch[0]]  # the same event twice in one batch
        record(engine, batch)
        if rng.random() < 0.2:
            record(engine, batch)  # a client's retry


def outcomes_with_agents(data: dict) -> list[tuple[dict, list[str]]]:
    """The aggregates' test outcomes (without their ids) with their handling agents."""
    agents: dict[int, list[str]] = {}
    for h in data[TicketOutcomeAgent]:
        agents.setdefault(h["outcome_id"], []).append(h["agent_id"])
    return [({k: v for k, v in o.items() if k != "id"}, agents.get(o["id"], [])) for o in data[TicketOutcome]]


def write_outcomes(engine, outcomes: list[tuple[dict, list[str]]], seed: int) -> None:
    """Every outcome through the write path, shuffled (later ones before earlier ones), some sent twice."""
    rng = random.Random(seed)
    order = outcomes[:]
    rng.shuffle(order)
    for row, agent_ids in order:
        for _ in range(2 if rng.random() < 0.2 else 1):
            with Session(engine) as session, crud.writing(session):
                crud.record_outcome(session=session, outcome=TicketOutcome(**row), agent_ids=agent_ids)


def table(engine, model=PairHour) -> list[tuple]:
    """The rows of ``model`` (times as naive UTC, "used" as a bool), in key order."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(model).order_by(*model.__table__.primary_key.columns)).all()
    return [tuple(naive_utc(v) if isinstance(v, datetime) else v for v in row) for row in rows]


def naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


MODELS = (PairHour, Pair, TicketLink, SuggestionUse, ArticleHour, ArticleVersionHour, TicketLatest)


def kept(engine) -> list[list[tuple]]:
    return [table(engine, model) for model in MODELS]


def rebuilt(engine) -> list[list[tuple]]:
    """The rollup rebuilt from the stored events, read back, and the kept one restored."""
    rows = {model: table(engine, model) for model in MODELS}
    with engine.begin() as conn:
        rollup.rebuild(conn)
    again = kept(engine)
    with engine.begin() as conn:
        for model, saved in rows.items():
            conn.execute(sa.delete(model))
            columns = [c.name for c in model.__table__.columns]
            as_rows = [{c: utc(v) for c, v in zip(columns, row, strict=True)} for row in saved]
            conn.execute(sa.insert(model), as_rows)
    return again


def utc(value):
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


def reports_equal_their_definitions(engine) -> None:
    kb = KB({}, None, lambda _q: None)
    with Session(engine) as session:
        for (since, until), zone, window in itertools.product(RANGES, ZONES, (3, 7)):
            names = ("funnel", "funnel-overall", "adoption", "link-rate", "reuse", "reuse-distribution")
            for name, group_by in itertools.product(names, GROUPS):
                if group_by != "all" and name not in ("adoption", "link-rate"):
                    continue
                opts = Options(period="day", zone=zone, window_days=window, group_by=group_by)
                sql = run_report(
                    name, session=session, opts=opts, since=since, until=until, kb=kb, gap_distance=0.3,
                    today=date(2026, 12, 1),
                )  # fmt: skip
                reference = python_report(
                    name.removesuffix("-overall"), session=session, opts=opts, since=since, until=until
                )
                expected = reference.rows[:1] if name == "funnel-overall" else reference.rows
                assert sql.rows == expected, (name, since, until, zone, window)
        for since, until in RANGES:
            today = date(2026, 12, 1)
            sql = run_report(
                "articles", session=session, opts=Options(), since=since, until=until, kb=kb, gap_distance=0.3,
                today=today,
            )  # fmt: skip
            facts = load_facts(session=session, since=since, until=until, needs=NEEDS["articles"])
            assert sql.rows == analytics.articles(facts, Options(), {}, today).rows, (since, until)


def test_the_write_path_keeps_the_funnel_and_adoption_exact(engine):
    assert kept(engine) == rebuilt(engine)
    reports_equal_their_definitions(engine)
    with Session(engine) as session:  # the short ranges count pairs from part-hours alone
        for since, until in RANGES[3:5]:
            part = run_report(
                "funnel-overall", session=session, opts=Options(), since=since, until=until,
                kb=KB({}, None, lambda _q: None), gap_distance=0.3, today=date(2026, 12, 1),
            )  # fmt: skip
            assert part.rows[0][1] >= 1, (since, until)


def test_a_late_event_moves_only_its_own_hour_and_the_reports_follow(engine):
    # Backdated into an hour that already has rows, and into one the pair never had.
    base = month_of_usage()[UsageEvent][0]
    late = [
        {**base, "event_id": "late-1", "type": "linked", "occurred_at": datetime(2026, 11, 6, 11, 20, tzinfo=UTC)},
        {**base, "event_id": "late-2", "type": "copied", "occurred_at": datetime(2026, 11, 1, 3, 59, 59, tzinfo=UTC)},
    ]
    before = set(table(engine, PairHour))
    record(engine, late)
    changed = set(table(engine, PairHour)) - before
    assert {row[2] for row in changed} == {datetime(2026, 11, 6, 11), datetime(2026, 11, 1, 3)}
    assert kept(engine) == rebuilt(engine)
    reports_equal_their_definitions(engine)


def test_concurrent_writers_of_the_same_pairs_meet_in_one_row(engine):
    # Each writer sends every event of a few pairs, in its own order and batches: one stored event per
    # id, and the rollup as the events say (PostgreSQL: upserts racing on one row; SQLite: one writer).
    base = month_of_usage()[UsageEvent][1]
    kinds = ["shown", "opened", "copied", "linked", "helpful", "shown"]
    events = [
        {
            **base,
            "event_id": f"race-{n}",
            "type": kinds[n % len(kinds)],
            "article_id": base["article_id"] if n % 2 else "art7",
            "occurred_at": datetime(2026, 11, 9, 8, n % 60, tzinfo=UTC),
        }
        for n in range(60)
    ]

    def writer(seed: int) -> None:
        write_shuffled(engine, events, seed)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(4)))
    assert kept(engine) == rebuilt(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).where(UsageEvent.event_id.like("race-%"))).scalar_one()
    assert stored == len(events)
    reports_equal_their_definitions(engine)


def test_batches_of_the_same_new_ids_in_opposite_orders_both_commit(engine):
    # On PostgreSQL two such inserts each waited for the other's uncommitted unique-key entries: a deadlock,
    # one batch refused. The ids are locked first, in one order: the second batch waits, then finds them stored.
    base = month_of_usage()[UsageEvent][1]
    for round_ in range(6):
        events = [{**base, "event_id": f"opposite-{round_}-{n:02d}", "type": "shown"} for n in range(40)]
        start = threading.Barrier(2, timeout=10)

        def writer(batch: list[dict], start=start) -> None:
            start.wait()
            record(engine, batch)

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(writer, [events, events[::-1]]))
        with engine.connect() as conn:
            ids = conn.execute(sa.select(UsageEvent.event_id).where(UsageEvent.event_id.like(f"opposite-{round_}-%")))
            assert sorted(ids.scalars()) == [e["event_id"] for e in events]
    assert kept(engine) == rebuilt(engine)


def test_the_data_covers_suggestions_outcomes_and_both_kinds_of_pairs(engine):
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Suggestion)) == 61
        assert session.scalar(sa.select(sa.func.count()).select_from(TicketOutcome)) > 10
    spans = {}
    for s, a, h, *_ in table(engine, PairHour):
        spans.setdefault((s, a), set()).add(h)
    assert any(len(hours) > 1 for hours in spans.values())  # pairs whose events fall in several hours


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "whole", "edges"),
    [
        (at(1, 16), at(30, 16), (at(1, 16), at(30, 16)), []),  # whole hours, as a month in UTC+8: no events read
        (
            at(1, 18, 30),
            at(30, 18, 30),
            (at(1, 19), at(30, 18)),
            [(at(1, 18, 30), at(1, 19)), (at(30, 18), at(30, 18, 30))],
        ),  # an offset of UTC+5:30
        (at(6, 10, 10), at(6, 10, 50), None, [(at(6, 10, 10), at(6, 10, 50))]),
        (at(6, 10, 40), at(6, 11, 20), None, [(at(6, 10, 40), at(6, 11, 20))]),
        (None, at(6, 11, 20), (None, at(6, 11)), [(at(6, 11), at(6, 11, 20))]),
        (at(6, 10, 40).replace(tzinfo=None), None, (at(6, 11), None), [(at(6, 10, 40), at(6, 11))]),  # naive is UTC
        (None, None, (None, None), []),
    ],
)
def test_a_range_splits_into_whole_hours_and_edge_part_hours(since, until, whole, edges):
    assert rollup.split(since, until) == (whole, edges)


def test_outcomes_written_in_any_order_and_concurrently_keep_each_tickets_latest(engine):
    # Four writers send the same outcomes of a few tickets in their own orders: ties in time (the later id is
    # the latest), a backdated first outcome, a reopen after the close. One stored row per key, and each
    # ticket's kept row as the outcomes say (PostgreSQL: upserts racing on one row; SQLite: one writer).
    at = datetime(2026, 11, 10, 6, tzinfo=UTC)
    statuses = ("resolved", "reopened", "closed", "resolved", "reopened")
    outcomes = [
        ({"idempotency_key": f"race-o{n}", "ticket_id": f"TR{n % 3}", "status": statuses[n % 5],
          "team": ("t0", None, "")[n % 3], "channel": ("chat", "phone")[n % 2], "payload_hash": "x",
          "occurred_at": at + timedelta(hours=(n % 4) - (30 if n == 7 else 0))}, ["a0", "B5"][: n % 3])
        for n in range(24)
    ]  # fmt: skip

    def writer(seed: int) -> None:
        write_outcomes(engine, outcomes, seed)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(10, 14)))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).where(TicketOutcome.idempotency_key.like("race-o%")))
        assert stored.scalar_one() == len(outcomes)
        first = conn.execute(sa.select(TicketLatest.first_at).where(TicketLatest.ticket_id == "TR1")).scalar_one()
    assert naive_utc(first) == naive_utc(at - timedelta(hours=30) + timedelta(hours=3))  # the backdated one
    assert kept(engine) == rebuilt(engine)
    reports_equal_their_definitions(engine)
