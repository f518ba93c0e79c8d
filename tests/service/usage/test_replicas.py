"""Two replicas on one database: an event reaches the replica that did not write its suggestion row."""

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from service.config import ServiceSettings
from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.conftest import assert_error, create_key, make_settings

WRITE_DELAY = 0.4
DEFAULT_WAIT = ServiceSettings.model_fields["usage_suggestion_wait_seconds"].default


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
    """A's writer inserts ``WRITE_DELAY`` s after it wakes, so B surely looks before the row exists."""
    writer = replicas[0].app.state.writer
    insert = writer._insert_batch

    def slow(rows):
        time.sleep(WRITE_DELAY)
        insert(rows)

    monkeypatch.setattr(writer, "_insert_batch", slow)


def suggest_on_a_then_event_on_b(replicas):
    a, b = replicas
    key = create_key(a.app, "agent", f"rep-{uuid.uuid4().hex[:6]}")
    s = a.post("/v1/suggest", json={"query": "退款多久到账"}, headers={"X-API-Key": key})
    assert s.status_code == 200, s.text
    body = {"event_id": uuid.uuid4().hex, "type": "copied", "article_id": s.json()["results"][0]["article_id"]}
    return b.post(f"/v1/suggestions/{s.json()['suggestion_id']}/events", json=body, headers={"X-API-Key": key})


@pytest.mark.usefixtures("slow_writer_on_a")
def test_an_event_on_the_other_single_worker_replica_waits_for_the_suggestion_row(replicas, monkeypatch):
    settings = replicas[1].app.state.settings
    assert settings.workers == 1
    monkeypatch.setattr(settings, "usage_suggestion_wait_seconds", DEFAULT_WAIT)
    response = suggest_on_a_then_event_on_b(replicas)
    assert response.status_code == 200, response.text
    assert response.json()["rank"] == 1


@pytest.mark.usefixtures("slow_writer_on_a")
def test_with_no_wait_configured_the_other_replica_answers_404(replicas, monkeypatch):
    settings = replicas[1].app.state.settings
    monkeypatch.setattr(settings, "usage_suggestion_wait_seconds", 0.0)
    assert_error(suggest_on_a_then_event_on_b(replicas), 404, "not_found")


def test_an_unknown_suggestion_is_still_404_after_the_bounded_wait(replicas, monkeypatch):
    b = replicas[1]
    monkeypatch.setattr(b.app.state.settings, "usage_suggestion_wait_seconds", 0.2)
    key = create_key(b.app, "agent", "rep-unknown")
    body = {"event_id": uuid.uuid4().hex, "type": "copied", "article_id": "refund-arrival"}
    assert_error(
        b.post(f"/v1/suggestions/{uuid.uuid4().hex}/events", json=body, headers={"X-API-Key": key}), 404, "not_found"
    )
