"""Finding 8: docs and metrics behind a key, docs assets from the installed package, security headers."""

import pytest

from tests.security.conftest import serving
from tests.service.conftest import assert_error

PROTECTED = ["/docs", "/redoc", "/openapi.json", "/metrics"]


@pytest.mark.parametrize("path", PROTECTED)
def test_docs_and_metrics_need_a_key_when_configured(live, path):
    assert_error(live.http.get(path), 401, "missing_api_key")
    assert live.http.get(path, headers={"X-API-Key": live.key("integration")}).status_code == 200


def test_docs_load_their_assets_from_the_service_not_a_cdn(live):
    key = {"X-API-Key": live.key("editor")}
    for page in ("/docs", "/redoc"):
        html = live.http.get(page, headers=key).text
        assert "cdn." not in html and "https://" not in html
        csp = live.http.get(page, headers=key).headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in csp or page == "/redoc"
        assert "unsafe-eval" not in csp and "default-src 'none'" in csp
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        response = live.http.get(f"/docs-assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000
        assert response.headers["x-content-type-options"] == "nosniff"


def test_api_answers_carry_security_headers(live):
    key = live.key("agent", "a-1")
    answers = [
        live.http.post("/v1/suggest", json={"query": "退款"}, headers={"X-API-Key": key}),
        live.http.post("/v1/suggest", json={"query": "退款"}),
        live.http.get("/healthz"),
        live.http.get("/nope"),
    ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_docs_can_be_turned_off(live_settings):
    with serving(live_settings.model_copy(update={"docs_access": "off", "metrics_access": "open"})) as live:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui.css"):
            assert_error(live.http.get(path, headers={"X-API-Key": live.key("admin")}), 404, "not_found")
        assert live.http.get("/metrics").status_code == 200
