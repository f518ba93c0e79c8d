"""A generated month for the dashboard tests: the usage benchmark's generator at a small scale, on each database.

The generated articles ``art-0000`` and ``art-0001`` become two articles of the test KB (one of
them stale), and a few hostile strings (a team name, a flag comment, a gap query) carry markup
that sets ``window.__xss`` if anything renders it; October gets three closed tickets so the
summary has a previous month.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.credits.models import CreditEntry
from service.db import make_engine, upgrade
from service.suggestions.models import Suggestion
from service.usage import crud, rollup
from service.usage.models import Agent, TicketOutcome, UsageEvent
from tests.service.conftest import db_url, shared_index

__all__ = ["db_url", "shared_index"]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dashboard_bench.py"
MONTH = "2026-11"
SCALE = {"suggestions": 1500, "events": 15000, "tickets": 800, "agents": 24, "teams": 3, "articles": 40}
HOSTILE = '<img src=x onerror="window.__xss=1">'
HOSTILE_TEAM = f"组{HOSTILE}"
USED = {"art-0000": "refund-arrival", "art-0001": "shipping-fee-refund"}  # shipping-fee-refund is stale


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill(url: str) -> None:
    """The generated month plus the hostile strings and an October, in the database at ``url``."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        bench().generate_month(engine, **SCALE)
        with engine.begin() as conn:
            for old, new in USED.items():
                conn.execute(sa.update(UsageEvent).where(UsageEvent.article_id == old).values(article_id=new))
            rollup.rebuild(conn)  # the events were renamed around the write path
        at = datetime(2026, 11, 20, 4, tzinfo=UTC)
        with Session(engine) as session:
            session.add(Agent(agent_id="x-agent", team=HOSTILE_TEAM))
            session.add(
                CreditEntry(agent_id="x-agent", points=7, rule_id="citation", rules_version="t", reason="t",
                            fact_key="x", idempotency_key="x", payload_hash="x", created_at=at)
            )  # fmt: skip
            session.add(
                Suggestion(id="s-hostile", created_at=at, agent_id="ag001", ticket_id="T-x", query=f"{HOSTILE} 火星",
                           mode="hybrid", index_version="v1", results=[], answerable=False, took_ms=1.0)
            )  # fmt: skip
            session.commit()
            crud.record_event(
                session=session,
                event=UsageEvent(event_id="flag-hostile", type="flagged", ticket_id="T-x", article_id="refund-arrival",
                                 agent_id="ag001", occurred_at=at, comment=f"<script>window.__xss=1</script>{HOSTILE}",
                                 payload_hash="f"),
            )  # fmt: skip
            for n, linked in enumerate((True, True, False)):
                ticket, when = f"T-oct-{n}", datetime(2026, 10, 10 + n, 4, tzinfo=UTC)
                if linked:
                    crud.record_event(
                        session=session,
                        event=UsageEvent(event_id=f"oct-{n}", type="linked", ticket_id=ticket, article_id="art-0002",
                                         agent_id="ag001", occurred_at=when, payload_hash=f"o{n}"),
                    )  # fmt: skip
                crud.record_outcome(
                    session=session,
                    outcome=TicketOutcome(idempotency_key=f"oct-{n}", ticket_id=ticket, status="resolved",
                                          occurred_at=when, payload_hash=f"o{n}"),
                    agent_ids=["ag001"],
                )  # fmt: skip
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def month_url(db_url: str) -> Iterator[str]:
    """``db_url`` holding the generated month (once per module and database)."""
    fill(db_url)
    yield db_url
