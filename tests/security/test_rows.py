"""Finding 2: one bad row never drops others, and no stored value reaches the log (live server process).

The database is made to refuse rows carrying :data:`MARK` with a trigger, as it would
refuse a row that slipped past validation; the trigger's message names no value, so
whatever of the row reaches the server's log came from the server.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from service.suggestions.models import Suggestion
from tests.conftest import KB_MINI
from tests.security.process import server_env, server_process
from tests.service.conftest import assert_error

MARK = "T-MARK-7731"
SECRET_QUERY = "退款 QUERYMARK5521"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.ticket_id = '{MARK}' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    for table in ("suggestions", "usage_events")
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF NEW.ticket_id = '{MARK}' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$",
    *(
        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_mark()"
        for table in ("suggestions", "usage_events")
    ),
]


@pytest.fixture(scope="module")
def server(db_url, shared_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rows")
    env = server_env(database_url=db_url, data_dir=folder / "data", index_dir=shared_index, content_dir=KB_MINI)
    with server_process(env, folder / "server.log") as running:
        triggers = POSTGRES_TRIGGERS if db_url.startswith("postgresql") else SQLITE_TRIGGERS
        with running.engine.begin() as connection:
            for statement in triggers:
                connection.execute(sa.text(statement))
        yield running


def suggest(server, key, agent_id=None, **body):
    body.setdefault("query", "退款多久到账")
    headers = {"X-API-Key": key, **({"X-Agent-Id": agent_id} if agent_id is not None else {})}
    return server.http.post("/v1/suggest", json=body, headers=headers)


def burst(server, odd_one):
    """20 normal suggest requests and ``odd_one`` (a callable making the 21st), all at once."""
    key = server.key("agent", "a-1")
    with ThreadPoolExecutor(max_workers=21) as pool:
        normal = [pool.submit(suggest, server, key, query=f"退款多久到账 {i}") for i in range(20)]
        odd = pool.submit(odd_one)
        responses = [f.result() for f in normal]
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    return [r.json()["suggestion_id"] for r in responses], odd.result()


def stored(server, ids, expected, timeout=10.0):
    """The ids among ``ids`` stored, once ``expected`` of them are (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(server.engine) as session:
            found = set(session.exec(select(Suggestion.id).where(Suggestion.id.in_(ids))).all())
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_burst_with_a_nul_query_stores_all_21_rows(server):
    integration = server.key("integration")
    ids, nul = burst(server, lambda: suggest(server, integration, "a-2", query="退款\u0000", ticket_id="T-1"))
    assert nul.status_code == 200, nul.text
    every = [*ids, nul.json()["suggestion_id"]]
    assert stored(server, every, 21) == set(every)
    with Session(server.engine) as session:
        row = session.get(Suggestion, nul.json()["suggestion_id"])
    assert row is not None and (row.query, row.ticket_id, row.agent_id) == ("退款", "T-1", "a-2")


@pytest.mark.parametrize("length", [65, 10_000])
def test_a_burst_with_an_overlong_agent_id_refuses_that_one_and_stores_the_others(server, length):
    integration = server.key("integration")
    ids, long = burst(server, lambda: suggest(server, integration, "a" * length))
    error = assert_error(long, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["x-agent-id"]
    assert stored(server, ids, 20) == set(ids)
    with Session(server.engine) as session:
        assert session.exec(select(Suggestion).where(Suggestion.agent_id == "a" * length)).first() is None


def test_a_burst_with_a_nul_in_the_ticket_id_refuses_that_one_and_stores_the_others(server):
    integration = server.key("integration")
    ids, nul = burst(server, lambda: suggest(server, integration, "a-2", query="退款", ticket_id="T-\u00001"))
    error = assert_error(nul, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["ticket_id"]
    assert stored(server, ids, 20) == set(ids)


def test_a_row_the_database_refuses_is_dropped_alone_and_not_quoted_in_the_log(server):
    integration = server.key("integration")
    ids, marked = burst(server, lambda: suggest(server, integration, "a-3", query=SECRET_QUERY, ticket_id=MARK))
    error = assert_error(marked, 500, "internal_error")  # no answer without its row; the 20 others answered 200
    assert MARK not in error["message"] and "QUERYMARK5521" not in error["message"]
    assert stored(server, ids, 20, timeout=0) == set(ids)  # committed before their answers
    log = server.log()
    assert "dropped 1 suggestion row" in log, log[-2000:]
    assert MARK not in log and "QUERYMARK5521" not in log, log[-2000:]


def test_an_insert_failing_in_a_request_logs_no_bound_parameter(server):
    key = server.key("agent", "a-4")
    response = server.http.post(
        f"/v1/tickets/{MARK}/links", json={"article_id": "refund-arrival"}, headers={"X-API-Key": key}
    )
    assert_error(response, 500, "internal_error")
    log = server.log()
    assert "unhandled error" in log, log[-2000:]
    assert MARK not in log and "a-4" not in log.split("unhandled error", 1)[1], log[-3000:]
    assert "parameters hidden" in log
