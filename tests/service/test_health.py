"""Open endpoints and the error shape of unknown routes."""

import re

from tests.service.conftest import SUGGEST, assert_error, suggest


def test_unknown_route_and_method_use_the_error_shape(client):
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.get(SUGGEST), 405, "method_not_allowed")


def test_health_endpoints_are_open(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["articles"] == 4
    assert client.get("/docs").status_code == 200


def test_metrics_expose_requests_latency_and_index(client, make_key):
    suggest(client, make_key("agent", "a-1"))
    text = client.get("/metrics").text
    version = client.get("/readyz").json()["index_version"]
    assert re.search(r'kbassist_requests_total\{method="POST",route="/v1/suggest",status="200"\} [1-9]', text)
    assert 'kbassist_request_duration_seconds_bucket{le="0.02",route="/v1/suggest"}' in text
    assert f'kbassist_index_info{{version="{version}"}} 1.0' in text
    assert "kbassist_index_articles 4.0" in text
    assert re.search(r"kbassist_embed_batch_size_count [1-9]", text)


def test_docs_are_served_from_the_package_when_open(client):
    html = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html and "cdn." not in html
    assert client.get("/openapi.json").json()["paths"]["/v1/suggest"]
