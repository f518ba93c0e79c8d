"""The month's sections on hand-built data, SQLite and PostgreSQL: day and week points, team scope, articles, points.

The figures themselves are the usage reports' (tested in tests/service/usage); these check
what the dashboard adds: the month's range in its time zone, sums per week, the team cut,
the articles of the build, the hand-off and the summary's numbers.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from indexer.parse import parse_markdown
from service.credits.models import CreditEntry
from service.dashboard import choices
from service.dashboard import month as month_module
from service.dashboard.cache import SharedResults
from service.dashboard.handoff import skeleton
from service.dashboard.month import Content, Month, Scope, previous_month
from service.dashboard.summary import Figures, figures, paragraph, summarize
from service.db import make_engine, upgrade
from service.usage import crud
from service.usage.models import Agent, TicketOutcome, UsageEvent
from service.usage.reports import KB

ZONE = ZoneInfo("Asia/Shanghai")
ARTICLES = {
    "used-fresh": {"title": "新文章", "category": "refunds", "tags": ["退款"], "review_by": "2027-01-01"},
    "used-stale": {"title": "旧文章", "category": "refunds", "tags": [], "review_by": "2026-01-01"},
    "idle-a": {"title": "闲置", "category": "shipping", "tags": []},
    "idle-b": {"title": "闲置二", "category": "refunds", "tags": []},
}
CONTENT = Content(ARTICLES, KB({a: m.get("review_by") for a, m in ARTICLES.items()}, None, lambda _q: None))


@pytest.fixture(scope="module")
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with Session(engine) as session:
        session.add(Agent(agent_id="a1", team="red"))
        session.add(Agent(agent_id="a2", team="blue"))
        session.commit()
        # (ticket, agent, outcome time UTC, linked article or None)
        tickets = [
            ("T1", "a1", datetime(2026, 10, 31, 17, tzinfo=UTC), "used-fresh"),  # 01:00 on 1 Nov in Shanghai
            ("T2", "a1", datetime(2026, 11, 2, 3, tzinfo=UTC), None),
            ("T3", "a2", datetime(2026, 11, 9, 3, tzinfo=UTC), "used-stale"),
            ("T4", "a2", datetime(2026, 11, 30, 17, tzinfo=UTC), "used-fresh"),  # 1 Dec in Shanghai: not November
            ("T5", "a1", datetime(2026, 10, 5, 3, tzinfo=UTC), "used-fresh"),
        ]
        for ticket, agent, at, article in tickets:
            if article:
                crud.record_event(
                    session=session,
                    event=UsageEvent(event_id=f"l-{ticket}", type="linked", ticket_id=ticket, article_id=article,
                                     agent_id=agent, occurred_at=at, payload_hash=ticket),
                )  # fmt: skip
            crud.record_outcome(
                session=session,
                outcome=TicketOutcome(idempotency_key=ticket, ticket_id=ticket, status="resolved", occurred_at=at,
                                      payload_hash=ticket),
                agent_ids=[agent],
            )  # fmt: skip
        for n, (agent, points, at) in enumerate(
            [("a1", 5, datetime(2026, 11, 3, tzinfo=UTC)), ("a2", 3, datetime(2026, 11, 4, tzinfo=UTC)),
             ("a2", 4, datetime(2026, 11, 5, tzinfo=UTC)), ("a1", 9, datetime(2026, 10, 5, tzinfo=UTC))]
        ):  # fmt: skip
            session.add(
                CreditEntry(agent_id=agent, points=points, rule_id="citation", rules_version="t", reason="t",
                            fact_key=f"f{n}", idempotency_key=f"k{n}", payload_hash="x", created_at=at)
            )  # fmt: skip
        session.commit()
    yield engine
    engine.dispose()


def month(engine, session, team=None, trend="day", name="2026-11"):
    scope = Scope(month=name, zone=ZONE, today=date(2026, 12, 3), team=team, trend=trend)
    return Month(session=session, scope=scope, content=CONTENT)


def test_link_rate_points_are_the_days_of_the_month_in_its_time_zone(engine):
    with Session(engine) as session:
        section = month(engine, session).section("link-rate")
    assert section.rows == [("2026-11-01", 1, 1, 1.0), ("2026-11-02", 1, 0, 0.0), ("2026-11-09", 1, 1, 1.0)]
    assert section.extra == {"target": 0.85, "closed": 3, "linked": 2, "link_rate": 0.6667}


def test_link_rate_by_week_sums_the_days_and_a_team_keeps_its_own(engine):
    with Session(engine) as session:
        weeks = month(engine, session, trend="week").section("link-rate")
        red = month(engine, session, team="red").section("link-rate")
    assert weeks.rows == [("2026-W44", 1, 1, 1.0), ("2026-W45", 1, 0, 0.0), ("2026-W46", 1, 1, 1.0)]
    assert red.rows == [("2026-11-01", 1, 1, 1.0), ("2026-11-02", 1, 0, 0.0)] and red.extra["link_rate"] == 0.5


def test_teams_sharing_the_report_cache_each_read_their_own_team(engine):
    # A team's per-team reports are counted for that team alone: the shared cache must key them by team.
    shared: SharedResults = SharedResults()
    with Session(engine) as session:
        alone = {t: asdict(figures(month(engine, session, team=t))) for t in ("red", "blue", None)}
        for team in ("red", "blue", None, "red"):
            scope = Scope(month="2026-11", zone=ZONE, today=date(2026, 12, 3), team=team)
            cached = Month(session=session, scope=scope, content=CONTENT, shared=shared)
            assert asdict(figures(cached)) == alone[team], team
    assert (alone["red"]["closed"], alone["blue"]["closed"], alone[None]["closed"]) == (2, 1, 3)


def test_articles_used_never_used_and_stale(engine):
    with Session(engine) as session:
        m = month(engine, session)
        top, never, stale = m.section("top-articles"), m.section("never-used"), m.section("stale-in-use")
    assert [(r[0], r[1], r[2]) for r in top.rows] == [("used-fresh", "新文章", 1), ("used-stale", "旧文章", 1)]
    assert never.rows == [("refunds", 1, "idle-b"), ("shipping", 1, "idle-a")] and never.extra["never_used"] == 2
    assert [(r[0], r[2], r[3]) for r in stale.rows] == [("used-stale", 1, "2026-01-01")]


def test_points_per_team_and_the_team_leaderboard(engine):
    with Session(engine) as session:
        everyone = month(engine, session)
        blue = month(engine, session, team="blue")
        assert everyone.section("team-points").rows == [("blue", 7, 1), ("red", 5, 1)]
        assert blue.section("leaderboard").rows == [(1, "a2", "blue", 7)]
        assert everyone.section("leaderboard").rows == [(1, "a2", "blue", 7), (2, "a1", "red", 5)]


def test_a_month_without_data_has_empty_sections(engine):
    with Session(engine) as session:
        sections = month(engine, session, name="2025-01").sections()
    empty = {s.id for s in sections if not s.rows}
    assert empty == {"link-rate", "top-articles", "stale-in-use", "gaps", "flags", "team-points", "leaderboard"}
    gaps = next(s for s in sections if s.id == "gaps")
    assert "loaded index build" in (gaps.note or "")


def test_months_run_from_the_first_record_to_now(engine):
    with Session(engine) as session:
        found = choices.months(session=session, zone=ZONE, now=datetime(2026, 12, 3, tzinfo=UTC))
        assert found == ["2026-12", "2026-11", "2026-10"]
        assert choices.teams(session=session) == ["blue", "red"]


def test_previous_month_crosses_the_year():
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-11") == "2026-10"


def test_skeleton_is_front_matter_the_indexer_reads(tmp_path):
    closest = {"category": "refunds", "tags": ["退款", "到账"]}
    text = skeleton(
        '退款: "多久"到账 #2', ["退款多久到账", "钱什么时候退回"], closest, "gap-0123456789ab", date(2026, 12, 3)
    )
    path = tmp_path / "draft.md"
    path.write_text(text, encoding="utf-8")
    parsed = parse_markdown(path)
    assert parsed.problems == [] and parsed.article is not None
    article = parsed.article
    assert (article.title, article.tags, article.gap, article.category) == (
        '退款: "多久"到账 #2', ["退款", "到账"], "gap-0123456789ab", "refunds"
    )  # fmt: skip
    assert (article.status, article.lang, article.review_by) == ("draft", "zh", date(2027, 6, 1))
    unrecorded = skeleton("how do I pay", ["how do I pay"], {}, None, date(2026, 12, 3))
    assert "gap:" not in unrecorded and "lang: en" in unrecorded and 'category: ""' in unrecorded


def test_the_summary_computes_both_months_reports_at_once_on_their_own_connections(engine, monkeypatch):
    with Session(engine) as session:
        one_by_one = [asdict(figures(month(engine, session, team=t, name=m))) for t in (None, "red") for m in MONTHS]
    calls = []
    arrived = threading.Barrier(2, timeout=10)  # two reports must be running at the same time to pass it
    real = month_module.run_report

    def recorded(name, *, session, **kwargs):
        calls.append((name, threading.get_ident(), id(session)))
        if len(calls) <= 2:
            arrived.wait()
        return real(name, session=session, **kwargs)

    monkeypatch.setattr(month_module, "run_report", recorded)
    with Session(engine) as request_session:
        for team in (None, "red"):
            now, before = (month(engine, request_session, team=team, name=m) for m in MONTHS)
            summary = summarize(now, before, with_open_work=False)
            assert [summary["current"], summary["before"]] == one_by_one[:2] if team is None else one_by_one[2:]
    # Link rate, adoption and reuse of each month, each once, none on the request's session.
    assert sorted(name for name, *_ in calls) == sorted(["link-rate", "adoption", "reuse"] * 4)
    assert len({thread for _, thread, _ in calls}) > 1
    assert id(request_session) not in {s for *_, s in calls}


MONTHS = ("2026-11", "2026-10")


def test_summary_paragraph_states_each_figure_and_its_change():
    now = Figures(100, 62, 0.62, 50, 20, 0.4, 10, 8, 0.8, 120, 12)
    before = Figures(80, 48, 0.6, 40, 20, 0.5, 5, 5, 1.0, 100, 10)
    text = paragraph("2026-11", "red", 0.85, now, before, {"gap_groups": 4, "open_flags": 3, "flagged_articles": 2,
                                                            "stale_in_use": 1, "never_used": 9})  # fmt: skip
    assert text["en"] == (
        "2026-11 (team red): KB link rate 62.0% (62 of 100 closed tickets linked; target 85.0%, -23.0 points from "
        "it; 2026-10: 60.0%, +2.0 points). Adoption 40.0% (20 of 50 suggestions; 2026-10: 50.0%, -10.0 points). "
        "Reuse of existing articles 80.0% of links (8 of 10; 2026-10: 100.0%, -20.0 points). 120 points earned by "
        "12 agents (2026-10: 100, +20.0%). Open work: 4 content-gap groups, 3 open flags on 2 articles, 1 stale "
        "articles still in use, 9 articles not used this month."
    )
    assert text["zh"].startswith(
        "2026-11（团队 red）：知识库关联率 62.0%（已关闭工单 100 张，关联 62 张；目标 85.0%，差 -23.0 个百分点"
    )
