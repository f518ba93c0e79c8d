"""Hot reload: new builds swap in under load; broken builds are refused."""

import json
import shutil
import threading
import time

import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildOptions, build_index
from indexer.versions import builds_dir, current_build, publish
from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.conftest import create_key, make_settings

NEW_ARTICLE = """---
id: invoice-how-to
title: 如何开发票
lang: zh
category: orders
tags: [发票, invoice]
product: all
channel: [chat]
audience: public
status: published
authors: [cs-009]
updated: 2026-11-01
review_by: 2027-11-01
---
# 如何开发票

在订单详情页点击申请发票，电子发票 24 小时内发送到邮箱。
"""


@pytest.fixture
def reloading(db_url, kb_dir, tmp_path):
    """An app on its own index root, so tests can publish new builds to it."""
    embedder = FakeEmbedder()
    root = tmp_path / "index"
    build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
    app = create_app(make_settings(tmp_path / "data", db_url, root), embedder=embedder)
    with TestClient(app) as client:
        yield client, root, embedder, create_key(app, "admin")


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_new_build_is_served_without_failing_requests_in_flight(reloading, kb_dir):
    client, root, embedder, key = reloading
    old = client.get("/readyz").json()["index_version"]
    (kb_dir / "invoice-how-to.md").write_text(NEW_ARTICLE, encoding="utf-8")
    builder = threading.Thread(target=build_index, args=(kb_dir, root, embedder, BuildOptions(chunk_size=120)))
    statuses, versions = [], set()
    builder.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = client.post("/v1/suggest", json={"query": "发票怎么开"}, headers={"X-API-Key": key})
        statuses.append(response.status_code)
        versions.add(response.json().get("index_version"))
        if len(versions) > 1 and not builder.is_alive():
            break
    builder.join()
    assert set(statuses) == {200}
    new = client.get("/readyz").json()["index_version"]
    assert new != old and versions == {old, new}
    body = client.post(
        "/v1/suggest", json={"query": "发票怎么开", "filters": {"tags": "invoice"}}, headers={"X-API-Key": key}
    ).json()
    assert [r["article_id"] for r in body["results"]] == ["invoice-how-to"]
    metrics = client.get("/metrics").text
    assert f'kbassist_index_info{{version="{new}"}} 1.0' in metrics, [
        m for m in metrics.splitlines() if "index_info" in m
    ]


def _publish_broken_copy(root):
    good = current_build(root)
    broken = builds_dir(root) / "29991231T000000.000000Z"
    shutil.copytree(good, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["version"] = broken.name
    (broken / "manifest.json").write_text(json.dumps(manifest))
    for name in ("dense.faiss", "dense", "chunks.jsonl"):
        target = broken / name
        if target.is_file():
            target.write_bytes(b"corrupt")
    publish(root, broken.name)
    return good.name, broken.name


def test_broken_build_is_refused_and_the_old_one_keeps_serving(reloading):
    client, root, _, key = reloading
    old, broken = _publish_broken_copy(root)
    assert wait_for(lambda: client.get("/readyz").json()["refused"] is not None)
    ready = client.get("/readyz").json()
    assert ready["index_version"] == old and ready["refused"]["version"] == broken
    assert ready["status"] == "degraded" and ready["refused"]["reason"] == "corrupt"
    assert_no_internals(client.get("/readyz").text, root)
    response = client.post("/v1/suggest", json={"query": "退款"}, headers={"X-API-Key": key})
    assert response.status_code == 200 and response.json()["index_version"] == old
    forced = client.post("/v1/admin/reload", headers={"X-API-Key": key}).json()
    assert forced["outcome"] == "refused" and forced["index_version"] == old
    publish(root, old)
    assert wait_for(lambda: client.get("/readyz").json()["refused"] is None)
    assert client.get("/readyz").json()["status"] == "ready"


def assert_no_internals(text, root):
    """``/readyz`` is open: it names versions and reason codes, never paths or error texts."""
    assert "/" not in text and str(root) not in text, text
    assert "Error" not in text and "faiss" not in text.lower() and "json" not in text.lower(), text


def test_server_starting_on_a_broken_build_serves_the_newest_build_that_loads(db_url, kb_dir, tmp_path, caplog):
    embedder = FakeEmbedder()
    root = tmp_path / "index"
    for _ in range(2):
        build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
    newest_good, broken = _publish_broken_copy(root)
    app = create_app(make_settings(tmp_path / "data", db_url, root), embedder=embedder)
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "degraded" and body["index_version"] == newest_good
        assert body["refused"]["version"] == broken and body["refused"]["reason"] == "corrupt"
        assert body["warning"] == (
            f"published build {broken} was refused (corrupt); serving build {newest_good} instead since start-up"
        )
        assert_no_internals(ready.text, root)
        key = create_key(app, "agent", "a-1")
        response = client.post("/v1/suggest", json={"query": "退款"}, headers={"X-API-Key": key})
        assert response.status_code == 200 and response.json()["index_version"] == newest_good
        time.sleep(0.2)  # the watcher does not retry the refused build by itself
        assert client.get("/readyz").json()["index_version"] == newest_good
        publish(root, newest_good)
        assert wait_for(lambda: client.get("/readyz").json()["status"] == "ready")
    assert any(
        r.levelname == "CRITICAL" and f"published build {broken} does not load" in r.getMessage()
        for r in caplog.records
    )


def test_server_starting_with_no_build_that_loads_is_not_ready(db_url, kb_dir, tmp_path):
    embedder = FakeEmbedder()
    root = tmp_path / "index"
    build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
    good, broken = _publish_broken_copy(root)
    (builds_dir(root) / good / "chunks.jsonl").unlink()
    app = create_app(make_settings(tmp_path / "data", db_url, root), embedder=embedder)
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        assert ready.json()["refused"]["version"] == broken
        assert_no_internals(ready.text, root)
        key = create_key(app, "agent", "a-1")
        response = client.post("/v1/suggest", json={"query": "退款"}, headers={"X-API-Key": key})
        assert response.status_code == 503
        assert response.json()["error"]["details"] == {"refused": {"version": broken, "reason": "corrupt"}}
        assert_no_internals(response.text, root)


def test_admin_reload_loads_a_new_build_at_once(db_url, kb_dir, tmp_path):
    embedder = FakeEmbedder()
    root = tmp_path / "index"
    build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
    settings = make_settings(tmp_path / "data", db_url, root).model_copy(update={"reload_interval": 0.0})
    app = create_app(settings, embedder=embedder)
    with TestClient(app) as client:
        key = create_key(app, "editor")
        old = client.get("/readyz").json()["index_version"]
        (kb_dir / "invoice-how-to.md").write_text(NEW_ARTICLE, encoding="utf-8")
        build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
        assert client.get("/readyz").json()["index_version"] == old  # no watcher: nothing happens by itself
        body = client.post("/v1/admin/reload", headers={"X-API-Key": key}).json()
        assert body["outcome"] == "loaded" and body["index_version"] != old
        assert client.get("/readyz").json()["index_version"] == body["index_version"]


def test_service_without_an_index_is_not_ready(db_url, tmp_path):
    app = create_app(make_settings(tmp_path / "data", db_url, tmp_path / "empty"), embedder=FakeEmbedder())
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        key = create_key(app, "agent", "a-1")
        response = client.post("/v1/suggest", json={"query": "x"}, headers={"X-API-Key": key})
        assert response.status_code == 503 and response.json()["error"]["code"] == "index_not_ready"
