"""GET /sidebar: the page and its files from the package, under their own Content-Security-Policy."""

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.config import ServiceSettings
from service.main import create_app
from service.pages import STATIC
from service.sidebar import sidebar_csp
from tests.conftest import FakeEmbedder
from tests.service.conftest import assert_error, make_settings


@pytest.fixture(scope="module")
def client(db_url, shared_index, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index).model_copy(
        update={"sidebar_frame_ancestors": "'self' https://desk.example.com"}
    )
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as c:
        yield c


def test_sidebar_page_has_a_strict_policy_with_the_configured_frame_ancestors(client):
    response = client.get("/sidebar?ticket_id=T-1&q=%E9%80%80%E6%AC%BE")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://desk.example.com;" in csp
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert '<script src="/sidebar/sidebar.js" defer></script>' in response.text


@pytest.mark.parametrize(("name", "kind"), [("sidebar.js", "text/javascript"), ("sidebar.css", "text/css")])
def test_sidebar_assets_are_served_under_the_same_policy(client, name, kind):
    response = client.get(f"/sidebar/{name}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "frame-ancestors 'self' https://desk.example.com" in response.headers["content-security-policy"]


def test_sidebar_unknown_file_is_not_found(client):
    assert_error(client.get("/sidebar/sidebar.html.bak"), 404, "not_found")
    assert_error(client.get("/sidebar/..%2Fconfig.py"), 404, "not_found")


def test_sidebar_page_has_no_inline_script_style_or_remote_source():
    page = (STATIC / "sidebar.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []
    assert " style=" not in page and "<style" not in page and re.findall(r"\son\w+=", page) == []
    for name in ("sidebar.html", "sidebar.js", "sidebar.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert re.findall(r"https?://", text) == [], name
    assert "localStorage" not in (STATIC / "sidebar.js").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "value", ["", "'none' 'self'", "https://a.com; script-src *", "'unsafe-inline'", "https://a.com,https://b.com"]
)
def test_sidebar_frame_ancestors_refuses_what_is_not_a_source(value):
    with pytest.raises(ValidationError, match="sidebar_frame_ancestors"):
        ServiceSettings(sidebar_frame_ancestors=value)


def test_sidebar_frame_ancestors_default_and_accepted_forms():
    assert ServiceSettings().sidebar_frame_ancestors == "'self'"
    value = "  https:   https://*.zendesk.com  http://10.0.0.5:8080 'self' "
    assert ServiceSettings(sidebar_frame_ancestors=value).sidebar_frame_ancestors == (
        "https: https://*.zendesk.com http://10.0.0.5:8080 'self'"
    )
    assert sidebar_csp("'none'").endswith("frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
