"""The SQL aggregates against the Python definitions, on generated usage data, on SQLite and PostgreSQL.

The data is small but chosen to hit every rule the two paths must agree on: ties in time (broken
by id), unlinks and relinks, reopens exactly at the window's edge and after it, tickets still open,
links made before a range on tickets closed in it, agents without a team, inactive or unknown,
empty strings, periods across a daylight-saving change and a half-hour zone.
"""

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.db import make_engine, upgrade
from service.suggestions.models import Suggestion
from service.usage import rollup
from service.usage.analytics import Options
from service.usage.buckets import label, on_whole_hours, period_start, transitions
from service.usage.models import Agent, ArticleSeen, TicketOutcome, TicketOutcomeAgent, UsageEvent
from service.usage.periods import as_utc, bucket
from service.usage.reports import KB, python_report, run_report

START = datetime(2026, 10, 25, tzinfo=UTC)
ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
RANGES = [(None, None), (datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))]
TYPES = ["shown", "opened", "copied", "inserted", "linked", "unlinked", "dismissed", "helpful", "flagged"]


def hours(n: int) -> datetime:
    return START + timedelta(hours=n)


def month_of_usage(seed: int = 5) -> dict[type, list[dict]]:
    rng = random.Random(seed)
    agents = [
        {"agent_id": "a0", "team": "t0", "active": True},
        {"agent_id": "a1", "team": "t1", "active": True},
        {"agent_id": "a2", "team": "", "active": True},
        {"agent_id": "a3", "team": None, "active": True},
        {"agent_id": "A4", "team": "t9", "active": False},
        {"agent_id": "B5", "team": "t1", "active": True},
    ]
    for a in agents:
        a["created_at"] = a["updated_at"] = START
    agent_ids = [a["agent_id"] for a in agents] + ["ghost"]
    tickets = [f"T{i}" for i in range(14)]
    articles = [f"art{i}" for i in range(8)]
    suggestions, events, outcomes, handlers = [], [], [], []
    for n in range(60):
        results = rng.sample(articles, 3)
        ticket = rng.choice([*tickets, None])
        s = {
            "id": f"{n:032x}",
            "created_at": hours(rng.randrange(0, 40 * 24, 6)),  # quantised: ties in time
            "agent_id": rng.choice([*agent_ids, None]),
            "ticket_id": ticket,
            "channel": rng.choice(["chat", "email", None, ""]),
            "query": f"q{n}",
            "mode": "hybrid",
            "index_version": rng.choice(["v1", "v2"]),
            "results": [{"article_id": a, "score": 0.5} for a in results],
            "answerable": True,
            "took_ms": 1.0,
        }
        suggestions.append(s)
        for k in range(rng.randrange(0, 8)):
            rank = rng.randrange(3)
            kind = rng.choice(TYPES)
            events.append(
                {
                    "event_id": f"e{n}-{k}",
                    "type": kind,
                    "suggestion_id": s["id"],
                    "ticket_id": ticket,
                    "article_id": results[rank],
                    "rank": rank + 1,
                    "index_version": s["index_version"],
                    "agent_id": s["agent_id"] or "a0",
                    "payload_hash": "x",
                    "occurred_at": s["created_at"] + timedelta(hours=rng.choice([0, 0, 6, 30, 200])),
                    "created_at": START,
                }
            )
    for n in range(40):  # links from the ticket system: no suggestion, no rank
        events.append(
            {
                "event_id": f"t{n}",
                "type": rng.choice(["linked", "linked", "unlinked"]),
                "suggestion_id": None,
                "rank": None,
                "index_version": None,
                "ticket_id": rng.choice(tickets),
                "article_id": rng.choice([*articles, "never-served"]),
                "agent_id": rng.choice(agent_ids),
                "payload_hash": "x",
                "occurred_at": hours(rng.randrange(0, 40 * 24, 12)),
                "created_at": START,
            }
        )
    chains = [["resolved"], ["closed"], ["resolved", "reopened"], ["resolved", "reopened", "resolved"], ["reopened"]]
    outcome_id = 0
    for ticket in tickets[:-2]:  # the last two have links but no outcome
        at = hours(rng.randrange(0, 35 * 24, 12))
        for status in rng.choice(chains):
            outcome_id += 1
            outcomes.append(
                {
                    "id": outcome_id,
                    "idempotency_key": f"o{outcome_id}",
                    "ticket_id": ticket,
                    "status": status,
                    "team": rng.choice(["t0", "t1", None, ""]),
                    "channel": rng.choice(["chat", "phone", None]),
                    "occurred_at": at,
                    "created_at": START,
                    "payload_hash": "x",
                }
            )
            for agent in rng.sample(agent_ids, rng.randrange(0, 3)):
                handlers.append({"outcome_id": outcome_id, "agent_id": agent})
            at += timedelta(days=rng.choice([7, 7, 3, 9]))  # a reopen exactly at the window's edge, inside, after
    # Same-time link and unlink on one ticket (the later id wins), handled first by an inactive agent.
    for n, (ticket, kinds) in enumerate((("TX1", ("linked", "unlinked")), ("TX2", ("unlinked", "linked")))):
        for k, kind in enumerate(kinds):
            events.append(
                {**events[-1], "event_id": f"x{n}{k}", "type": kind, "ticket_id": ticket, "article_id": "art1"}
            )
            events[-1]["occurred_at"] = hours(300)
        outcome_id += 1
        outcomes.append({**outcomes[-1], "id": outcome_id, "idempotency_key": f"o{outcome_id}", "ticket_id": ticket})
        outcomes[-1].update(status="resolved", team=None, occurred_at=hours(310))
        handlers += [{"outcome_id": outcome_id, "agent_id": "A4"}, {"outcome_id": outcome_id, "agent_id": "a1"}]
    seen = [
        {"article_id": a, "first_seen_at": hours(24 * i), "first_index_version": "v1"} for i, a in enumerate(articles)
    ]
    return {
        Agent: agents,
        Suggestion: suggestions,
        UsageEvent: events,
        TicketOutcome: outcomes,
        TicketOutcomeAgent: handlers,
        ArticleSeen: seen,
    }


@pytest.fixture(scope="module")
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        for model, rows in month_of_usage().items():
            conn.execute(sa.insert(model), rows)
        rollup.rebuild(conn)
    yield engine
    engine.dispose()


def both(engine, name, opts, since, until):
    with Session(engine) as session:
        kb = KB({}, None, lambda _q: None)
        sql = run_report(
            name, session=session, opts=opts, since=since, until=until, kb=kb, gap_distance=0.3, today=date(2026, 12, 1)
        )
        reference = python_report(name.removesuffix("-overall"), session=session, opts=opts, since=since, until=until)
    return sql, reference


@pytest.mark.parametrize("name", ["link-rate", "adoption"])
def test_grouped_reports_match_their_python_definitions(engine, name):
    for period, group_by, zone, (since, until) in itertools.product(
        ("day", "week", "month"), ("all", "team", "agent", "channel"), ZONES, RANGES
    ):
        opts = Options(period=period, zone=zone, group_by=group_by)
        sql, reference = both(engine, name, opts, since, until)
        assert sql == reference, (period, group_by, zone, since)
        assert sql.rows, (period, group_by, zone, since)


@pytest.mark.parametrize("name", ["link-rate", "adoption"])
def test_one_teams_report_is_that_teams_rows_of_the_per_team_report(engine, name):
    # What a team's dashboard reads: its own rows, counted for it alone (a set of its agents, no join).
    for period, zone, (since, until) in itertools.product(("day", "month"), ZONES[:2], RANGES):
        whole, _ = both(engine, name, Options(period=period, zone=zone, group_by="team"), since, until)
        teams = {row[0] for row in whole.rows}
        assert "-" in teams and len(teams) >= 2 and "t9" not in teams  # t9's only agent is inactive: "-" rows
        for team in [*sorted(teams), "t0", "t9", "nobody"]:
            opts = Options(period=period, zone=zone, group_by="team", team=team)
            sql, reference = both(engine, name, opts, since, until)
            assert sql == reference, (period, zone, since, team)
            assert sql.rows == [row for row in whole.rows if row[0] == team], (period, zone, since, team)
            assert bool(sql.rows) == (team in teams)


@pytest.mark.parametrize("name", ["adoption-by-rank", "funnel", "reuse", "reuse-distribution"])
def test_ungrouped_reports_match_their_python_definitions(engine, name):
    for window, (since, until) in itertools.product((3, 7, 30), RANGES):
        sql, reference = both(engine, name, Options(window_days=window), since, until)
        assert sql == reference, (window, since)
        assert any(any(cell for cell in row[1:]) for row in sql.rows), (window, since)


def test_funnel_overall_is_the_overall_row_of_the_python_funnel(engine):
    solved = set()
    for window, (since, until) in itertools.product((3, 6, 7, 30), RANGES):
        overall, reference = both(engine, "funnel-overall", Options(window_days=window), since, until)
        full = both(engine, "funnel", Options(window_days=window), since, until)[0]
        assert overall.rows == reference.rows[:1] == full.rows[:1], (window, since)
        assert (overall.definition, overall.columns) == (reference.definition, reference.columns)
        assert all(overall.rows[0][1:4]), (window, since)
        solved.add(overall.rows[0][-1])
    assert len(solved) > 2  # solved pairs counted, and the window changes how many


def test_the_data_hits_the_cases_that_matter(engine):
    # Reopens at exactly the window's edge and beyond it, relinks, and both reuse kinds exist.
    with Session(engine) as session:
        counts = python_report("reuse", session=session, opts=Options(), since=None, until=None).rows
        assert all(n > 0 for _kind, n, _share in counts)
        strict = python_report("funnel", session=session, opts=Options(window_days=6), since=None, until=None)
        edge = python_report("funnel", session=session, opts=Options(window_days=7), since=None, until=None)
        assert strict.rows[0][-1] > edge.rows[0][-1]


ANCHORS = [(2026, 3, 8), (2026, 3, 29), (2026, 10, 25), (2026, 11, 1), (2026, 11, 30), (2026, 12, 28), (2027, 1, 1)]
PROBES = [
    datetime(*day, tzinfo=UTC) + timedelta(minutes=29 * i, microseconds=1) for day in ANCHORS for i in range(-100, 100)
]


@pytest.fixture(scope="module")
def probes(engine):
    table = sa.Table("probe_times", sa.MetaData(), sa.Column("at", sa.DateTime(timezone=True)))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"at": at} for at in PROBES])
    return table


@pytest.mark.parametrize("zone", [*ZONES, ZoneInfo("UTC"), ZoneInfo("Europe/London")])
def test_sql_periods_equal_python_buckets(engine, probes, zone):
    # Around daylight-saving changes (New York, London), month ends and ISO year ends.
    with engine.connect() as conn:
        for period in ("day", "week", "month"):
            start = period_start(probes.c.at, period, zone, conn.dialect.name)
            got = {as_utc(at): label(s, period) for at, s in conn.execute(sa.select(probes.c.at, start))}
            assert got == {at: bucket(at, period, zone) for at in PROBES}, period


def test_a_zone_with_daylight_saving_has_its_transitions():
    assert len(transitions(ZoneInfo("America/New_York"))) > 200
    assert len(transitions(ZoneInfo("UTC"))) == 1


@pytest.mark.parametrize(
    ("zone", "whole"),
    [
        ("Asia/Shanghai", True),
        ("America/New_York", True),
        ("UTC", True),
        ("Asia/Kolkata", False),
        ("Australia/Lord_Howe", False),
    ],  # fmt: skip (Lord Howe: whole-hour standard time, a half-hour DST shift)
)
def test_adoption_counts_per_utc_hour_only_in_zones_whose_days_start_on_utc_hours(zone, whole):
    assert on_whole_hours(ZoneInfo(zone)) is whole
