"""The content-gap bonus on both databases: a recorded open gap pays its answering article's authors once.

Also end to end through the CLI: an article's ``gap:`` front matter goes through the build's
``articles.jsonl`` to ``kbassist credits sync``, which closes the gap ``kbassist gaps record`` made.
"""

import concurrent.futures
import json
import logging
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from indexer.build import BuildOptions, build_index
from service.config import ServiceSettings
from service.credits import audit
from service.credits.models import CreditEntry
from service.credits.rules import load_rules
from service.credits.settle import record_build
from service.db import make_engine, upgrade
from service.usage import gap_records
from tests.conftest import FakeEmbedder
from tests.service.conftest import run, session_of

RULES = load_rules()
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def article(article_id, gap, authors=("w1",), body="积分不能转让，只能本人使用。" * 10, version="h1"):
    return {article_id: {"content_hash": f"{article_id}-{version}", "authors": list(authors), "body": body, "gap": gap}}


def build(engine, articles, version="b1"):
    with Session(engine) as session:
        return record_build(session=session, articles=articles, index_version=version, rules=RULES, zone=ZONE)


def recorded(engine, *examples):
    with Session(engine) as session:
        gap, _ = gap_records.record_gap(
            session=session, examples=list(examples), title=examples[0], size=3, closest_article=None, recorded_by="ed"
        )
    return gap


def gap_entries(engine, gap):
    with Session(engine) as session:
        query = select(CreditEntry).where(col(CreditEntry.fact_key).startswith(f"gap_article:{gap}:"))
        return session.exec(query.order_by(col(CreditEntry.id))).all()


def read_gap(engine, gap_id):
    with Session(engine) as session:
        return gap_records.get_gap(session=session, gap_id=gap_id)


def test_an_article_naming_a_recorded_open_gap_pays_its_authors_once_and_closes_the_gap(engine, caplog):
    gap = recorded(engine, "积分能转让吗", "积分送给家人")
    assert build(engine, article("points-transfer", gap.id, authors=("w1", "w2"))) == 4  # 2 published + 2 bonus
    paid = gap_entries(engine, gap.id)
    assert [(e.agent_id, e.points, e.rule_id, e.article_id) for e in paid] == [
        ("w1", 10, "gap_article", "points-transfer"),
        ("w2", 10, "gap_article", "points-transfer"),
    ]
    closed = read_gap(engine, gap.id)
    assert (closed.status, closed.closed_by_article, closed.closed_by_version) == (
        "closed",
        "points-transfer",
        "points-transfer-h1",
    )
    assert closed.closed_at is not None
    assert build(engine, article("points-transfer", gap.id, authors=("w1", "w2")), "b2") == 0  # the same build again
    with caplog.at_level(logging.WARNING, logger="service.credits.settle"):
        assert build(engine, article("points-gift", gap.id, authors=("w3",))) == 1  # published only
    assert "already closed by article points-transfer: no gap bonus" in caplog.text
    assert len(gap_entries(engine, gap.id)) == 2
    with Session(engine) as session:
        explained = audit.explain(session=session, entry_id=paid[0].id)
    assert explained["facts"]["article_version"]["gap_id"] == gap.id
    assert explained["facts"]["gap"]["status"] == "closed"
    assert explained["facts"]["gap"]["closed_by_article"] == "points-transfer"


def test_an_unknown_gap_earns_nothing_and_the_log_says_why(engine, caplog):
    with caplog.at_level(logging.WARNING, logger="service.credits.settle"):
        assert build(engine, article("made-up", "gap-ffffffffffff")) == 1
    assert "article made-up names gap gap-ffffffffffff, which is not recorded" in caplog.text
    assert gap_entries(engine, "gap-ffffffffffff") == []


def test_a_gap_recorded_after_the_version_was_served_earns_nothing(engine):
    examples = ("会员费能退吗", "取消会员退钱")
    named = gap_records.gap_id(examples)
    assert build(engine, article("member-refund", named)) == 1  # served before anyone recorded the gap
    late = recorded(engine, *examples)
    assert late.id == named
    assert build(engine, article("member-refund", named), "b3") == 0  # served again: not a new version
    assert gap_entries(engine, named) == [] and read_gap(engine, named).status == "open"
    small = article("member-refund", named, body="积分不能转让，只能本人使用。" * 10 + "补充。", version="h2")
    assert build(engine, small, "b4") == 0  # a small edit is no publication
    assert read_gap(engine, named).status == "open"


def test_racing_builds_that_name_one_gap_pay_one_article(engine):
    gap = recorded(engine, "发票丢了怎么办", "补开发票")

    def one(n):
        return build(engine, article(f"race-{n}", gap.id, authors=(f"r{n}",)), f"race-{n}")

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        written = list(pool.map(one, range(6)))
    assert sorted(written) == [1] * 5 + [2]
    paid = gap_entries(engine, gap.id)
    assert len(paid) == 1 and read_gap(engine, gap.id).closed_by_article == f"race-{paid[0].agent_id[1:]}"
    with Session(engine) as session:
        assert audit.verify(session=session) == []


def test_the_gap_in_front_matter_reaches_credits_sync_through_the_build(db_url, tmp_path, kb_dir):
    settings = ServiceSettings(content_dir=kb_dir, data_dir=tmp_path / "data", database_url=db_url)
    made = run(settings, "gaps", "record", "积分能兑换现金吗 | 星币换钱", "--title", "积分兑现")
    assert made.exit_code == 0, made.output
    gap_id = made.output.split()[0]
    (kb_dir / "points-cash.md").write_text(
        (kb_dir / "refund-arrival.md")
        .read_text(encoding="utf-8")
        .replace("id: refund-arrival", "id: points-cash")
        .replace("authors: [cs-001]", f"authors: [cs-gap]\ngap: {gap_id}"),
        encoding="utf-8",
    )
    build_index(kb_dir, settings.index_root, FakeEmbedder(), BuildOptions(chunk_size=settings.chunk_size))
    synced = run(settings, "credits", "sync")
    assert synced.exit_code == 0, synced.output
    assert run(settings, "credits", "balance", "cs-gap").output.strip() == "30"  # 20 published + 10 bonus
    closed = run(settings, "gaps", "list", "--status", "closed")
    assert any(
        line.startswith(f"{gap_id}\tclosed\t") and "\tpoints-cash\t" in line for line in closed.output.splitlines()
    )
    ledger = run(settings, "credits", "ledger", "cs-gap", "--rule", "gap_article")
    entry_id = ledger.output.splitlines()[1].split("\t")[0]
    explained = json.loads(run(settings, "credits", "explain", entry_id).output)
    assert explained["facts"]["gap"]["id"] == gap_id and explained["facts"]["gap"]["title"] == "积分兑现"
    with session_of(settings) as session:
        assert audit.verify(session=session) == []
