"""Finding 5: no markup from an article or from the request reaches a client unescaped (live server process).

One hostile article (markup in the title, tag-stripper bypasses in the body and the
standard answer) is built into the index the server starts on; every text field of the
answers is then read over HTTP as the sidebar and the ticket system read it.
"""

import shutil
from html.parser import HTMLParser

import pytest

from indexer.build import BuildOptions, build_index
from tests.conftest import KB_MINI, FakeEmbedder
from tests.indexer.test_markup import assert_plain
from tests.security.process import server_env, server_process
from tests.service.suggestions.test_plain_text import HOSTILE

HANDLERS = ("onerror", "ontoggle", "onload")
SAFE_TAGS = {"h1", "h2", "p", "br", "strong", "em", "ul", "ol", "li", "a", "img", "code", "pre"}


class Elements(HTMLParser):
    """The tags and attribute names a browser would build from an HTML text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


@pytest.fixture(scope="module")
def server(db_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("markup")
    kb = folder / "kb"
    shutil.copytree(KB_MINI, kb)
    (kb / "hostile-rules.md").write_text(HOSTILE, encoding="utf-8")
    build_index(kb, folder / "index", FakeEmbedder(), BuildOptions(chunk_size=120))
    env = server_env(database_url=db_url, data_dir=folder / "data", index_dir=folder / "index", content_dir=kb)
    with server_process(env, folder / "server.log") as running:
        yield running


def hostile_result(server, **body):
    response = server.http.post(
        "/v1/suggest",
        json={"query": "发票规则 发票抬头", "top_k": 5, **body},
        headers={"X-API-Key": server.key("agent", "a-1")},
    )
    assert response.status_code == 200, response.text
    return {r["article_id"]: r for r in response.json()["results"]}["hostile-rules"]


def test_title_answer_and_context_reach_the_client_as_plain_text(server):
    result = hostile_result(server, context={"客户称呼": "<img src=x onerror=alert('ctx')>王女士"})
    assert result["title"] == "发票规则"
    assert result["answer"] == "王女士您好，发票已发送到您的邮箱。"
    for field in ("title", "answer", "category"):
        assert_plain(result[field])


def test_the_snippet_is_escaped_html_without_the_article_tags(server):
    snippet = hostile_result(server)["snippet"]
    assert "<img" not in snippet and "&lt;img" not in snippet and "<details" not in snippet
    assert not any(handler in snippet for handler in HANDLERS), snippet


def test_the_article_page_has_a_plain_title_and_sanitised_html(server):
    response = server.http.get("/v1/articles/hostile-rules", headers={"X-API-Key": server.key("agent", "a-1")})
    assert response.status_code == 200, response.text
    article = response.json()
    assert article["title"] == "发票规则"
    elements = Elements(article["html"])
    assert elements.tags <= SAFE_TAGS, article["html"]
    assert not [name for name in elements.attributes if name.startswith("on")], article["html"]
    assert "电子发票" in article["html"] and "发票抬头可修改" in article["html"]
