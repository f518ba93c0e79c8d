"""Over the live API, no field but the escaped ``snippet`` carries markup, whatever the article or context hold."""

import shutil

import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildOptions, build_index
from service.main import create_app
from tests.conftest import KB_MINI, FakeEmbedder
from tests.indexer.test_markup import assert_plain
from tests.service.conftest import create_key, make_settings

HOSTILE = """---
id: hostile-rules
title: 发票<img src=x onerror=alert('title')>规则
lang: zh
category: refunds
tags: [发票]
product: all
channel: [chat]
audience: public
status: published
authors: [cs-001]
updated: 2026-09-01
review_by: 2027-03-01
---
# 发票规则

电子发票<img/src=x/onerror=alert(1)>在订单完成后开具。<details/open/ontoggle=alert(2)>发票抬头可修改。

## 标准答复

{客户称呼}您好，发票<svg
onload=alert(3)>已发送到您的邮箱。
"""


@pytest.fixture(scope="module")
def hostile_client(db_url, tmp_path_factory):
    kb = tmp_path_factory.mktemp("kb") / "kb"
    shutil.copytree(KB_MINI, kb)
    (kb / "hostile-rules.md").write_text(HOSTILE, encoding="utf-8")
    root = tmp_path_factory.mktemp("index") / "index"
    embedder = FakeEmbedder()
    build_index(kb, root, embedder, BuildOptions(chunk_size=120))
    app = create_app(make_settings(tmp_path_factory.mktemp("data"), db_url, root), embedder=embedder)
    with TestClient(app) as client:
        yield client, create_key(app, "agent", "a-1")


def _hostile_result(client, key, **body):
    response = client.post(
        "/v1/suggest", json={"query": "发票规则 发票抬头", "top_k": 5, **body}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    results = {r["article_id"]: r for r in response.json()["results"]}
    return results["hostile-rules"]


def test_title_and_answer_are_plain_text(hostile_client):
    client, key = hostile_client
    result = _hostile_result(client, key, context={"客户称呼": "<img src=x onerror=alert('ctx')>王女士"})
    assert result["title"] == "发票规则"
    assert result["answer"] == "王女士您好，发票已发送到您的邮箱。"
    for field in ("title", "answer", "category"):
        assert_plain(result[field])
    assert "<img" not in result["snippet"] and "&lt;img" not in result["snippet"]
