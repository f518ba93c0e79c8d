"""The API contract over kb_mini indexed with the real default embedder (whatever the settings ship)."""

import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildOptions, build_index
from indexer.config import Settings
from indexer.factory import make_embedder
from service.main import create_app
from tests.conftest import KB_MINI
from tests.service.conftest import create_key, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_index(tmp_path_factory):
    embedder = make_embedder(Settings(data_dir=tmp_path_factory.mktemp("data")))
    assert embedder.backend == Settings.model_fields["embedding_backend"].default
    root = tmp_path_factory.mktemp("default") / "index"
    build_index(KB_MINI, root, embedder, BuildOptions(chunk_size=200))
    return root, embedder


@pytest.fixture(scope="module")
def real_client(default_index, db_url, tmp_path_factory):
    root, embedder = default_index
    app = create_app(make_settings(tmp_path_factory.mktemp("data"), db_url, root), embedder=embedder)
    with TestClient(app) as client:
        yield client


def post(client, key, agent_id=None, **body):
    headers = {"X-API-Key": key, **({"X-Agent-Id": agent_id} if agent_id else {})}
    response = client.post("/v1/suggest", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_cross_lingual_suggestion_with_marked_snippet(real_client):
    key = create_key(real_client.app, "agent", "a-1")
    body = post(real_client, key, query="我的退款多久到账？手机13812345678", top_k=3)
    top = body["results"][0]
    assert top["article_id"] == "refund-arrival" and "<mark>" in top["snippet"]
    assert body["answerable"] is True and body["took_ms"] > 0
    english = post(real_client, key, query="how do I cancel my order", top_k=1)
    assert english["results"][0]["article_id"] == "en-order-cancel"


def test_filters_before_top_k_and_internal_visibility(real_client):
    agent = create_key(real_client.app, "agent", "a-1")
    integration = create_key(real_client.app, "integration")
    body = post(real_client, agent, query="客户很生气怎么安抚", top_k=1, filters={"category": "agent-playbook"})
    assert [r["article_id"] for r in body["results"]] == ["internal-soothing"]
    hidden = post(real_client, integration, "a-1", query="客户很生气怎么安抚", top_k=10)
    assert "internal-soothing" not in {r["article_id"] for r in hidden["results"]}


def test_modes_return_results(real_client):
    key = create_key(real_client.app, "editor")
    for mode in ("dense", "lexical", "hybrid"):
        body = post(real_client, key, query="退款 到账", mode=mode, top_k=2)
        assert body["results"] and body["results"][0]["article_id"] == "refund-arrival"
