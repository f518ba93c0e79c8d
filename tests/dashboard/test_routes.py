"""GET /dashboard and /v1/dashboard: roles, errors in the one shape, the page's policy and its vendored library."""

from __future__ import annotations

import hashlib
import re

import pytest
from pydantic import ValidationError

from service.config import ServiceSettings
from service.dashboard.catalog import CHART_IDS
from service.dashboard.page import DASHBOARD_CSP
from service.pages import STATIC
from tests.service.conftest import app, assert_error, client, make_key

__all__ = ["app", "client", "make_key"]

OWN_FILES = ("dashboard.html", "dashboard.js", "dashboard-charts.js", "dashboard-report.js", "dashboard.css")


def test_dashboard_page_has_a_strict_policy_and_no_inline_code(client):
    response = client.get("/dashboard")
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert csp == DASHBOARD_CSP and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    page = response.text
    assert re.findall(r"<script(?![^>]*\ssrc=)", page) == []
    assert " style=" not in page and "<style" not in page and re.findall(r"\son\w+=", page) == []
    for name in OWN_FILES:
        text = (STATIC / name).read_text(encoding="utf-8")
        assert re.findall(r"https?://", text) == [], name
        assert "innerHTML" not in text and "localStorage" not in text and "eval(" not in text, name


@pytest.mark.parametrize("name", ["dashboard.js", "dashboard-charts.js", "echarts.min.js", "dashboard.css"])
def test_dashboard_files_are_served_under_the_same_policy(client, name):
    response = client.get(f"/dashboard/{name}")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DASHBOARD_CSP


def test_dashboard_unknown_file_is_not_found(client):
    assert_error(client.get("/dashboard/echarts.LICENSE"), 404, "not_found")
    assert_error(client.get("/dashboard/..%2Fconfig.py"), 404, "not_found")


def test_the_vendored_echarts_is_the_version_and_file_noted():
    notes = (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    library = (STATIC / "echarts.min.js").read_bytes()
    assert hashlib.sha256(library).hexdigest() in notes
    [version] = re.findall(r"`echarts.min.js` \| Apache ECharts[^|]*\| ([\d.]+) \|", notes)
    assert f'version:"{version}"'.encode() in library
    for name in ("echarts.LICENSE", "echarts.NOTICE", "echarts.LICENSE-d3"):
        assert (STATIC / name).is_file()
    assert "Apache License" in (STATIC / "echarts.LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ["/v1/dashboard", "/v1/dashboard/charts/funnel", "/v1/dashboard/summary"])
def test_dashboard_api_needs_an_editor_or_admin_key(client, make_key, path):
    assert_error(client.get(path), 401, "missing_api_key")
    assert_error(client.get(path, headers={"X-API-Key": make_key("agent", "li.na")}), 403, "forbidden")
    assert client.get(path, headers={"X-API-Key": make_key("admin")}).status_code == 200


def test_dashboard_lists_months_teams_target_and_the_catalog(client, make_key):
    body = client.get("/v1/dashboard", headers={"X-API-Key": make_key("editor")}).json()
    assert [c["id"] for c in body["charts"]] == list(CHART_IDS)
    assert body["target"] == 0.85 and body["month"] == body["months"][0] and body["time_zone"] == "Asia/Shanghai"


def test_unknown_chart_and_bad_pickers_get_the_error_shape(client, make_key):
    editor = {"X-API-Key": make_key("editor")}
    error = assert_error(client.get("/v1/dashboard/charts/pie", headers=editor), 404, "not_found")
    assert error["details"] == {"chart": "pie"}
    error = assert_error(
        client.get("/v1/dashboard/charts/funnel?month=2026-13", headers=editor), 422, "validation_error"
    )
    assert error["details"][0]["field"] == "month"
    error = assert_error(client.get("/v1/dashboard/charts/funnel?trend=hour", headers=editor), 422, "validation_error")
    assert error["details"][0]["field"] == "trend"
    error = assert_error(client.get(f"/v1/dashboard/summary?team={'x' * 65}", headers=editor), 422, "validation_error")
    assert error["details"][0]["field"] == "team"


def test_link_rate_target_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("KB_DASHBOARD_LINK_RATE_TARGET", "0.7")
    assert ServiceSettings().dashboard_link_rate_target == 0.7
    with pytest.raises(ValidationError, match="dashboard_link_rate_target"):
        ServiceSettings(dashboard_link_rate_target=1.5)
