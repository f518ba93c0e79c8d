"""A settle run with nothing to settle does not read the article versions (it runs every few seconds per worker)."""

from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import Session

from service.credits.rules import load_rules
from service.credits.settle import settle
from tests.service.credits.test_commands import add_link, add_resolve


def statements_of_a_run(engine) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            settle(session=session, rules=load_rules(), window_days=7, zone=ZoneInfo("Asia/Shanghai"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def reads_versions(statements: list[str]) -> bool:
    return any("FROM credit_article_versions" in s for s in statements)


def test_an_idle_run_skips_the_versions_and_a_run_with_tickets_reads_them(engine):
    assert not reads_versions(statements_of_a_run(engine))
    with Session(engine) as session:
        add_link(session, "ev-settle-reads-1", "T-settle-reads", "refund-arrival", "agent-1")
        add_resolve(session, "out-settle-reads-1", "T-settle-reads", ["agent-1"])
    assert reads_versions(statements_of_a_run(engine))
