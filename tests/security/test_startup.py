"""Finding 7: a server started on a damaged current build serves the newest build that loads (live process).

Each test starts its own `kbassist serve` process, since what is under test is start-up.
"""

import time

import pytest

from indexer.build import BuildOptions, build_index
from indexer.versions import builds_dir, list_builds, publish
from tests.conftest import KB_MINI, FakeEmbedder
from tests.security.process import server_env, server_process
from tests.service.test_reload import _publish_broken_copy, assert_no_internals


@pytest.fixture
def root(tmp_path):
    """An index root with two good builds, then a damaged copy published as CURRENT."""
    index = tmp_path / "index"
    for _ in range(2):
        build_index(KB_MINI, index, FakeEmbedder(), BuildOptions(chunk_size=120))
    return index


def start(db_url, root, tmp_path):
    env = server_env(database_url=db_url, data_dir=tmp_path / "data", index_dir=root, content_dir=KB_MINI)
    return server_process(env, tmp_path / "server.log")


def test_a_fresh_server_on_a_damaged_build_serves_the_newest_good_one_and_says_so(db_url, root, tmp_path):
    newest_good, broken = _publish_broken_copy(root)
    with start(db_url, root, tmp_path) as server:
        ready = server.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert (body["status"], body["index_version"]) == ("degraded", newest_good)
        assert body["refused"]["version"] == broken and body["refused"]["reason"] == "corrupt"
        assert body["warning"] == (
            f"published build {broken} was refused (corrupt); serving build {newest_good} instead since start-up"
        )
        assert_no_internals(ready.text, root)
        response = server.http.post("/v1/suggest", json={"query": "退款"}, headers={"X-API-Key": server.key("admin")})
        assert response.status_code == 200 and response.json()["index_version"] == newest_good
        log = server.log()
        assert f"CRITICAL service.index: DEGRADED: published build {broken} does not load" in log, log[-2000:]
        assert f"serving build {newest_good}" in log
        publish(root, newest_good)
        deadline = time.monotonic() + 10
        while server.http.get("/readyz").json()["status"] != "ready" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.http.get("/readyz").json() | {"loaded_at": None} == {
            "status": "ready",
            "index_version": newest_good,
            "articles": body["articles"],
            "loaded_at": None,
            "refused": None,
            "warning": None,
        }


def test_a_fresh_server_with_no_build_that_loads_is_not_ready_and_shows_no_internals(db_url, root, tmp_path):
    _, broken = _publish_broken_copy(root)
    for version in list_builds(root):
        if version != broken:
            (builds_dir(root) / version / "manifest.json").write_text("{", encoding="utf-8")
    with start(db_url, root, tmp_path) as server:
        ready = server.http.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"] == "not_ready" and ready.json()["refused"]["version"] == broken
        assert_no_internals(ready.text, root)
        assert "no build under" in server.log()
