"""`kbassist agents|report|flags|usage` through CliRunner, on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from service.config import ServiceSettings
from service.db import make_engine, upgrade
from service.suggestions.models import Suggestion
from service.usage import crud
from service.usage.facts import load_agent_counts, load_article_counts, load_gap_queries, load_used_suggestions
from service.usage.models import TicketOutcome, UsageEvent
from tests.conftest import KB_MINI, FakeEmbedder
from tests.service.conftest import run, session_of

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


# The rows kept on write from the usage tables (migrations 0007 and 0008): emptied with them.
KEPT = (
    "usage_pair_hours",
    "usage_pairs",
    "usage_ticket_links",
    "usage_suggestion_uses",
    "usage_article_hours",
    "usage_article_version_hours",
    "usage_ticket_latest",
)


@pytest.fixture
def cli_settings(db_url, tmp_path):
    settings = ServiceSettings(content_dir=KB_MINI, data_dir=tmp_path / "data", database_url=db_url)
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:  # the module shares one database: start each test from empty usage tables
        for table in ("usage_flags", "usage_events", "ticket_outcome_agents", "ticket_outcomes", "agents", *KEPT):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM suggestions")
    engine.dispose()
    return settings


def add_suggestion(session, sid, ticket, query, articles, at=T0, agent="a1"):
    session.add(
        Suggestion(
            id=sid,
            created_at=at,
            agent_id=agent,
            ticket_id=ticket,
            query=query,
            mode="hybrid",
            index_version="v1",
            results=[{"article_id": a, "score": 0.5} for a in articles],
            answerable=True,
            took_ms=1.0,
        )
    )
    session.commit()


def add_event(session, event_id, kind, ticket, article, at=T0, suggestion=None, agent="a1"):
    crud.record_event(
        session=session,
        event=UsageEvent(
            event_id=event_id,
            type=kind,
            ticket_id=ticket,
            article_id=article,
            agent_id=agent,
            occurred_at=at,
            suggestion_id=suggestion,
            payload_hash=event_id,
        ),
    )


def add_outcome(session, key, ticket, status, at, agents=("a1",)):
    crud.record_outcome(
        session=session,
        outcome=TicketOutcome(
            idempotency_key=key, ticket_id=ticket, status=status, occurred_at=at, team="t1", payload_hash=key
        ),
        agent_ids=list(agents),
    )


def test_agents_import_maps_columns_and_list_shows_them(cli_settings, tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("工号,姓名,组别,在职\nA001,李娜,退款组,是\nA002,王伟,物流组,否\n", encoding="utf-8")
    result = run(
        cli_settings, "agents", "import", str(path), "--map", "agent_id=工号,display_name=姓名,team=组别,active=在职"
    )
    assert result.exit_code == 0, result.output
    assert "imported 2 agent(s)" in result.output
    listed = run(cli_settings, "agents", "list", "--team", "退款组")
    assert listed.output.splitlines() == ["agent_id\tdisplay_name\tteam\tactive", "A001\t李娜\t退款组\tyes"]


def test_agents_import_reports_every_bad_row_and_imports_nothing(cli_settings, tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("agent_id,team,active\nA001,t1,yes\nbad id,t1,yes\nA003,t1,maybe\n", encoding="utf-8")
    result = run(cli_settings, "agents", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: agent_id 'bad id'" in result.output and f"{path}:4: active 'maybe'" in result.output
    assert run(cli_settings, "agents", "list").output.splitlines() == ["agent_id\tdisplay_name\tteam\tactive"]
    no_column = run(cli_settings, "agents", "import", str(path), "--map", "agent_id=工号")
    assert no_column.exit_code == 1 and "no column '工号'" in no_column.output


def test_report_link_rate_on_a_hand_built_month_in_each_format(cli_settings):
    with session_of(cli_settings) as session:
        for i in range(4):  # week 45: four resolved tickets, two linked
            add_outcome(session, f"o{i}", f"T{i}", "resolved", T0 + timedelta(days=i))
        add_event(session, "e1", "linked", "T0", "refund-arrival")
        add_event(session, "e2", "linked", "T1", "refund-arrival")
        add_event(session, "e3", "linked", "T2", "en-order-cancel")
        add_event(session, "e4", "unlinked", "T2", "en-order-cancel", at=T0 + timedelta(hours=1))
        add_outcome(session, "o9", "T9", "closed", T0 + timedelta(days=8))  # week 46: one closed, linked
        add_event(session, "e9", "linked", "T9", "refund-arrival", at=T0 + timedelta(days=8))
    result = run(cli_settings, "report", "link-rate", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["rows"] == [
        {"group": "all", "period": "2026-W45", "closed": 4, "linked": 2, "link_rate": 0.5, "trend": None},
        {"group": "all", "period": "2026-W46", "closed": 1, "linked": 1, "link_rate": 1.0, "trend": 0.5},
    ]
    csv_out = run(cli_settings, "report", "link-rate", "--format", "csv", "--since", "2026-11-09").output
    assert csv_out.splitlines() == ["group,period,closed,linked,link_rate,trend", "all,2026-W46,1,1,1.0,"]
    table = run(cli_settings, "report", "link-rate", "--period", "month").output
    assert "2026-11" in table and "closed or resolved tickets with at least one linked article" in table


def test_funnel_and_gap_queries_on_the_database(cli_settings):
    with session_of(cli_settings) as session:
        add_suggestion(session, "1" * 32, "T1", "退款多久到账", ["x", "y"])
        add_suggestion(session, "2" * 32, "T2", "发票怎么开", ["x"])
        add_suggestion(session, "3" * 32, None, "积分能转让吗", ["x"])
        for n, (kind, article, sid) in enumerate(
            [
                ("shown", "x", "1"),
                ("opened", "x", "1"),
                ("copied", "x", "1"),
                ("linked", "x", "1"),
                ("shown", "y", "1"),
                ("linked", "x", "2"),
                ("shown", "x", "3"),
                ("dismissed", "x", "3"),
            ]
        ):
            ticket = {"1": "T1", "2": "T2"}.get(sid)  # the suggestion's ticket, as the write path copies it
            add_event(session, f"fn{n}", kind, ticket, article, suggestion=sid * 32)
        add_outcome(session, "fo1", "T1", "resolved", T0 + timedelta(days=1))
        add_outcome(session, "fo2", "T2", "resolved", T0 + timedelta(days=1))
        add_outcome(session, "fo3", "T2", "reopened", T0 + timedelta(days=2))
        assert load_gap_queries(session=session, since=None, until=None, limit=10) == ["积分能转让吗"]
        assert load_used_suggestions(session=session, since=None, until=None) == {"1" * 32, "2" * 32}
        agents = load_agent_counts(session=session, since=None, until=None)
        assert (agents.asked, agents.links, agents.flags) == ({"a1": 3}, {"a1": 2}, {})
        assert (agents.articles_used, agents.articles_used_total) == ({"a1": 1}, 1)
        counts = load_article_counts(session=session, since=None, until=None, types=("copied", "linked"))
        assert sorted((c.article_id, c.type, c.count) for c in counts) == [("x", "copied", 1), ("x", "linked", 2)]
    rows = json.loads(run(cli_settings, "report", "funnel", "--format", "json").output)["rows"]
    assert [tuple(r.values()) for r in rows] == [("all", 4, 2, 2, 2, 1), ("x", 3, 2, 2, 2, 1), ("y", 1, 0, 0, 0, 0)]


def test_flags_list_and_resolve(cli_settings):
    with session_of(cli_settings) as session:
        add_event(session, "f1", "flagged", None, "refund-arrival")
        flag_id = crud.list_flags(session=session)[0].id
    assert "refund-arrival" in run(cli_settings, "flags", "list").output
    result = run(cli_settings, "flags", "resolve", str(flag_id), "--note", "fixed, call 13812345678")
    assert result.exit_code == 0 and f"flag {flag_id} is resolved" in result.output
    with session_of(cli_settings) as session:
        assert crud.list_flags(session=session, status="resolved")[0].resolution_note == "fixed, call [PHONE]"
    assert run(cli_settings, "flags", "resolve", "999999", "--note", "x").exit_code == 1


def test_retention_blanks_old_query_text_and_keeps_the_rest(cli_settings):
    now = datetime.now(UTC)
    with session_of(cli_settings) as session:
        add_suggestion(session, "a" * 32, "T1", "旧的问题", ["refund-arrival"], at=now - timedelta(days=100))
        add_suggestion(session, "b" * 32, "T2", "新的问题", ["refund-arrival"], at=now - timedelta(days=10))
        add_event(session, "r1", "linked", "T1", "refund-arrival", suggestion="a" * 32)
    result = run(cli_settings, "usage", "retention")
    assert result.exit_code == 0 and "blanked the query text of 1 suggestion(s)" in result.output
    with session_of(cli_settings) as session:
        rows = {s.id: s for s in session.exec(select(Suggestion))}
        assert rows["a" * 32].query == "" and rows["a" * 32].results == [{"article_id": "refund-arrival", "score": 0.5}]
        assert rows["b" * 32].query == "新的问题"
        assert len(session.exec(select(UsageEvent)).all()) == 1


def test_export_eval_round_trip(cli_settings, tmp_path, monkeypatch):
    with session_of(cli_settings) as session:
        add_suggestion(session, "1" * 32, "T1", "退款多久能到账", ["refund-arrival"])
        add_suggestion(session, "2" * 32, "T2", "how do I cancel my order", ["en-order-cancel"])
        add_suggestion(session, "3" * 32, "T3", "运费退吗", ["shipping-fee-refund"])  # reopened: not exported
        add_suggestion(session, "4" * 32, "T4", "没有链接的工单", ["refund-arrival"])  # no link: not exported
        for n, (ticket, article) in enumerate(
            [("T1", "refund-arrival"), ("T2", "en-order-cancel"), ("T3", "shipping-fee-refund")]
        ):
            add_event(session, f"x{n}", "linked", ticket, article)
        for ticket in ("T1", "T2", "T3", "T4"):
            add_outcome(session, f"r-{ticket}", ticket, "resolved", T0 + timedelta(hours=1))
        add_outcome(session, "re-T3", "T3", "reopened", T0 + timedelta(days=2))
    out = tmp_path / "traffic"
    result = run(cli_settings, "usage", "export-eval", str(out))
    assert result.exit_code == 0, result.output
    assert "2 queries from 2 tickets" in result.output
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert queries == [
        {"query": "how do I cancel my order", "relevant_ids": ["en-order-cancel"], "lang": "en"},
        {"query": "退款多久能到账", "relevant_ids": ["refund-arrival"], "lang": "zh"},
    ]
    articles = [json.loads(line)["id"] for line in (out / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "refund-arrival" in articles and "draft-note" not in articles
    monkeypatch.setattr("eval.cli.make_embedder", lambda settings, threads=None: FakeEmbedder())
    evaluated = run(cli_settings, "eval", "--dataset", str(out), "--modes", "lexical", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    payload = json.loads(evaluated.stdout)
    assert payload["n_queries"] == 2 and payload["runs"][0]["metrics"]["recall@5"] == 1.0


def test_a_reported_gap_counts_even_when_the_suggestion_was_used(cli_settings):
    with session_of(cli_settings) as session:
        add_suggestion(session, "4" * 32, "T4", "能开专票吗", ["x"])
        add_suggestion(session, "5" * 32, "T5", "怎么改地址", ["x"])
        for n, sid in enumerate("45"):
            add_event(session, f"gs{n}", "shown", None, "x", suggestion=sid * 32)
            add_event(session, f"gc{n}", "copied", None, "x", suggestion=sid * 32)
        add_event(session, "gr", "gap_reported", None, "x", suggestion="4" * 32)
        assert load_gap_queries(session=session, since=None, until=None, limit=10) == ["能开专票吗"]


def test_report_articles_without_an_index_warns_and_gaps_refuse(cli_settings):
    with session_of(cli_settings) as session:
        add_event(session, "ar1", "copied", None, "refund-arrival")
    articles = run(cli_settings, "report", "articles", "--format", "csv")
    assert articles.exit_code == 0, articles.output
    assert "warning: no serving build" in articles.stderr
    assert articles.stdout.splitlines()[1].startswith("refund-arrival,1,0,0,,0,")
    gaps = run(cli_settings, "report", "gaps")
    assert gaps.exit_code == 1 and "content gaps need the index" in gaps.output
