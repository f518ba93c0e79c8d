"""Two replicas on one database: an event reaches the replica that did not answer its suggest."""

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.conftest import assert_error, create_key, make_settings

WRITE_DELAY = 0.4


@pytest.fixture(scope="module")
def replicas(db_url, shared_index, tmp_path_factory):
    """Replicas A and B (one worker each, the default) sharing the database and the index."""
    apps = [
        create_app(
            make_settings(tmp_path_factory.mktemp(f"data-{name}"), db_url, shared_index), embedder=FakeEmbedder()
        )
        for name in "ab"
    ]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        yield a, b


@pytest.fixture
def slow_writer_on_a(replicas, monkeypatch):
    """A's writer commits ``WRITE_DELAY`` s after it takes a batch (a busy or distant database)."""
    writer = replicas[0].app.state.writer
    insert = writer._insert_batch

    def slow(rows):
        time.sleep(WRITE_DELAY)
        insert(rows)

    monkeypatch.setattr(writer, "_insert_batch", slow)


@pytest.mark.usefixtures("slow_writer_on_a")
def test_an_event_on_the_other_replica_right_after_the_suggest_is_accepted(replicas):
    """The suggest answer waits for its row's commit, so B knows the suggestion without waiting for anything."""
    a, b = replicas
    assert b.app.state.settings.workers == 1
    key = create_key(a.app, "agent", f"rep-{uuid.uuid4().hex[:6]}")
    started = time.perf_counter()
    s = a.post("/v1/suggest", json={"query": "退款多久到账"}, headers={"X-API-Key": key})
    assert s.status_code == 200, s.text
    assert time.perf_counter() - started >= WRITE_DELAY  # the answer waited for the commit
    body = {"event_id": uuid.uuid4().hex, "type": "copied", "article_id": s.json()["results"][0]["article_id"]}
    response = b.post(f"/v1/suggestions/{s.json()['suggestion_id']}/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    assert response.json()["rank"] == 1


def test_an_unknown_suggestion_is_404_on_either_replica(replicas):
    for replica in replicas:
        key = create_key(replica.app, "agent", "rep-unknown")
        body = {"event_id": uuid.uuid4().hex, "type": "copied", "article_id": "refund-arrival"}
        response = replica.post(f"/v1/suggestions/{uuid.uuid4().hex}/events", json=body, headers={"X-API-Key": key})
        assert_error(response, 404, "not_found")
