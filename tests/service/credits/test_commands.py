"""kbassist credits: offline sync, verify (catching a hand-corrupted table), statement totals, caps, bad input."""

import csv
import io
from datetime import UTC, datetime

import pytest

from service.config import ServiceSettings
from service.credits.rules import RulesError
from service.db import make_engine, upgrade, utcnow
from service.main import create_app
from service.usage import crud
from service.usage.models import TicketOutcome, UsageEvent
from tests.conftest import KB_MINI, FakeEmbedder
from tests.service.conftest import run, session_of


@pytest.fixture
def cli_settings(db_url, tmp_path, shared_index):
    settings = ServiceSettings(
        content_dir=KB_MINI, data_dir=tmp_path / "data", database_url=db_url, index_dir=shared_index
    )
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    return settings


def add_link(session, event_id, ticket, article, agent):
    event = UsageEvent(
        event_id=event_id,
        type="linked",
        ticket_id=ticket,
        article_id=article,
        agent_id=agent,
        occurred_at=utcnow(),
        payload_hash=event_id,
    )
    crud.record_event(session=session, event=event)


def add_resolve(session, key, ticket, agents):
    outcome = TicketOutcome(
        idempotency_key=key, ticket_id=ticket, status="resolved", occurred_at=utcnow(), payload_hash=key
    )
    crud.record_outcome(session=session, outcome=outcome, agent_ids=list(agents))


def statement(settings):
    result = run(settings, "credits", "statement")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def test_sync_credits_the_published_build_once(cli_settings):
    first = run(cli_settings, "credits", "sync")
    assert first.exit_code == 0, first.output
    assert "4 publication entries" in first.output
    again = run(cli_settings, "credits", "sync")
    assert "0 publication entries" in again.output
    assert run(cli_settings, "credits", "balance", "cs-003").output.strip() == "20"


def test_sync_settles_citations_and_the_statement_totals_match_the_ledger(cli_settings):
    with session_of(cli_settings) as session:
        add_link(session, "cmd-l1", "CMD-1", "en-order-cancel", "agent-x")
        add_resolve(session, "cmd-o1", "CMD-1", ["agent-x"])
    assert run(cli_settings, "credits", "sync").exit_code == 0
    assert run(cli_settings, "credits", "balance", "cs-003").output.strip() == "25"
    assert (
        run(cli_settings, "credits", "adjust", "agent-x", "7", "--reason", "mentoring", "--actor", "lead").exit_code
        == 0
    )
    rows = statement(cli_settings)
    totals = {r["agent_id"]: int(r["points"]) for r in rows if r["rule_id"] == "TOTAL"}
    per_rule = {}
    for r in rows:
        if r["rule_id"] != "TOTAL":
            per_rule[r["agent_id"]] = per_rule.get(r["agent_id"], 0) + int(r["points"])
    assert totals == per_rule
    for agent, total in totals.items():
        assert run(cli_settings, "credits", "balance", agent).output.strip() == str(total)
    assert {"cs-003": 25, "agent-x": 7}.items() <= totals.items()
    ledger = run(cli_settings, "credits", "ledger", "cs-003", "--rule", "citation")
    assert "citation" in ledger.output and "CMD-1" in ledger.output
    entry_id = ledger.output.splitlines()[1].split("\t")[0]
    explained = run(cli_settings, "credits", "explain", entry_id)
    assert (
        explained.exit_code == 0
        and '"type": "linked"' in explained.output
        and '"status": "resolved"' in explained.output
    )


def test_daily_cap_limits_credits_per_rule_and_agent(cli_settings, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  citation: {points: 5, daily_cap: 1}\n", encoding="utf-8")
    capped = cli_settings.model_copy(update={"credits_rules_file": rules})
    with session_of(cli_settings) as session:
        for n in (1, 2):
            add_link(session, f"cap-l{n}", f"CAP-{n}", "internal-soothing", "agent-y")
            add_resolve(session, f"cap-o{n}", f"CAP-{n}", ["agent-y"])
    assert run(capped, "credits", "sync", "--no-build").exit_code == 0
    before = int(run(capped, "credits", "balance", "cs-004").output)
    assert run(capped, "credits", "ledger", "cs-004", "--rule", "citation").output.count("\tcitation\t") == 1
    assert before in (5, 25)  # 20 when the build was credited earlier in this module


def test_new_rules_never_revalue_standing_credits(cli_settings, tmp_path):
    with session_of(cli_settings) as session:
        outcome = TicketOutcome(
            idempotency_key="rv-1", ticket_id="RV-1", status="resolved", csat=5, occurred_at=utcnow(), payload_hash="rv"
        )
        crud.record_outcome(session=session, outcome=outcome, agent_ids=["agent-z"])
    assert run(cli_settings, "credits", "sync", "--no-build").exit_code == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  csat: {points_by_score: {5: 9}}\n", encoding="utf-8")
    assert (
        run(cli_settings.model_copy(update={"credits_rules_file": rules}), "credits", "sync", "--no-build").exit_code
        == 0
    )
    assert run(cli_settings, "credits", "balance", "agent-z").output.strip() == "5"
    assert run(cli_settings, "credits", "ledger", "agent-z").output.count("\tcsat\t") == 1


def test_verify_passes_on_a_sound_ledger_and_catches_a_hand_corrupted_table(cli_settings):
    assert run(cli_settings, "credits", "sync").exit_code == 0
    ok = run(cli_settings, "credits", "verify")
    assert ok.exit_code == 0, ok.output
    engine = make_engine(cli_settings.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE credit_entries SET points = points + 3 WHERE agent_id = 'cs-002'")
    bad = run(cli_settings, "credits", "verify")
    assert bad.exit_code == 1
    assert "agent cs-002: balance" in bad.output
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE credit_entries SET points = points - 3 WHERE agent_id = 'cs-002'")
        conn.exec_driver_sql("UPDATE credit_balances SET balance = -1 WHERE agent_id = 'cs-002'")
    negative = run(cli_settings, "credits", "verify")
    assert negative.exit_code == 1 and "cs-002: negative balance" in negative.output
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE credit_balances SET balance = 20 WHERE agent_id = 'cs-002'")
    engine.dispose()
    assert run(cli_settings, "credits", "verify").exit_code == 0


def test_bad_adjustments_and_bad_rules_files_change_nothing(cli_settings, tmp_path):
    unknown = run(cli_settings, "credits", "adjust", "nobody", "5", "--reason", "x", "--actor", "lead")
    assert unknown.exit_code == 1 and "agent nobody not found" in unknown.output
    zero = run(cli_settings, "credits", "adjust", "cs-001", "0", "--reason", "x", "--actor", "lead")
    assert zero.exit_code == 2 and "must not be 0" in zero.output
    fraction = run(cli_settings, "credits", "adjust", "cs-001", "1.5", "--reason", "x", "--actor", "lead")
    assert fraction.exit_code == 2
    missing = run(cli_settings, "credits", "adjust", "cs-001", "5", "--actor", "lead")
    assert missing.exit_code == 2 and "--reason" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  citation: {points: 5}\n  typo_rule: {points: 1}\n", encoding="utf-8")
    broken = cli_settings.model_copy(update={"credits_rules_file": bad})
    result = run(broken, "credits", "sync")
    assert result.exit_code == 1 and f"{bad}:3: unknown rule 'typo_rule'" in result.output
    with pytest.raises(RulesError, match=r"bad.yaml:3"):
        create_app(broken, embedder=FakeEmbedder())


def test_leaderboard_by_team(cli_settings):
    with session_of(cli_settings) as session:
        crud.upsert_agent(session=session, agent_id="cs-003", display_name="C", team="orders", active=True)
    month = datetime.now(UTC).strftime("%Y-%m")
    result = run(cli_settings, "credits", "leaderboard", "--team", "orders", "--period", month)
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[1] for line in result.output.splitlines()[1:]] == ["cs-003"]
    assert run(cli_settings, "credits", "leaderboard", "--period", "2026-13").exit_code == 2
