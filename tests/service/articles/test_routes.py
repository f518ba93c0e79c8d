"""GET /v1/articles/{id}: sanitised HTML, the audience rule, and the error shape."""

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import FakeEmbedder
from tests.service.articles.conftest import XSS_ID
from tests.service.conftest import assert_error, create_key, make_settings


@pytest.fixture(scope="module")
def client(db_url, xss_kb, xss_index, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, xss_index).model_copy(
        update={"content_dir": xss_kb}
    )
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as c:
        yield c


def get(client, article_id, role="agent"):
    key = create_key(client.app, role, "li.na" if role == "agent" else None)
    return client.get(f"/v1/articles/{article_id}", headers={"X-API-Key": key})


def test_read_article_renders_markdown_to_html(client):
    response = get(client, "refund-arrival")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["article_id"] == "refund-arrival" and body["title"] == "退款多久到账"
    assert body["category"] == "refunds" and body["audience"] == "public" and body["stale"] is False
    assert "<h1>退款多久到账</h1>" in body["html"] and "<h2>标准答复</h2>" in body["html"]
    assert '<a href="#kb:shipping-fee-refund"' in body["html"]


class Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_read_article_removes_everything_that_could_run(client):
    body = get(client, XSS_ID).json()
    markup = Markup()
    markup.feed(body["html"])
    assert markup.tags <= {"h1", "h2", "p", "a", "img"}
    assert sorted({name for _, name, _ in markup.attributes}) == ["href", "rel", "src", "target"]
    assert [(t, v) for t, n, v in markup.attributes if n in ("href", "src")] == [
        ("img", "x"),
        ("a", "#kb:refund-arrival"),
    ]
    assert "window.__xss = 1" not in "".join(markup.text)  # the script's content went with it
    assert "退款到账" in body["html"] and "订单详情" in body["html"] and "覆盖" in body["html"]
    assert body["title"] == "退款到账说明" and body["stale"] is True
    assert 'rel="noopener noreferrer"' in body["html"]


def test_read_article_internal_follows_the_audience_rule(client):
    assert get(client, "internal-soothing", role="agent").status_code == 200
    assert_error(get(client, "internal-soothing", role="integration"), 404, "not_found")


def test_read_article_not_found(client):
    error = assert_error(get(client, "no-such-article"), 404, "not_found")
    assert error["details"] == {"article_id": "no-such-article"}
    assert_error(get(client, "draft-note"), 404, "not_found")


def test_read_article_needs_a_key(client):
    assert_error(client.get("/v1/articles/refund-arrival"), 401, "missing_api_key")
    assert_error(get(client, "bad%20id"), 422, "validation_error")
