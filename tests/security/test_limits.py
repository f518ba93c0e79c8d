"""Finding 1: bounded requests, authenticated before they are parsed (live server, raw sockets)."""

import socket
import threading
import time

import pytest

from tests.security.conftest import HEADER_TIMEOUT
from tests.security.wire import closed_within, read_response, send_until_answered
from tests.service.conftest import assert_error

MB = 1024 * 1024


def head(extra: str = "", *, length: int | None = None) -> bytes:
    lines = ["POST /v1/suggest HTTP/1.1", "Host: kb", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


class Answer:
    """A raw response in the shape ``assert_error`` reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.status_code, self.headers, self.body = read_response(sock)
        self.text = str(self.body)

    def json(self):
        return self.body


def test_huge_body_without_key_is_refused_before_it_is_read(live):
    with live.connect() as sock:
        started = time.monotonic()
        sent = send_until_answered(sock, head(length=80 * MB) + b"[", b"1," * 32768, 80 * MB)
        answer = Answer(sock)
        assert time.monotonic() - started < 2
    assert_error(answer, 401, "missing_api_key")
    assert answer.headers["connection"] == "close"
    assert sent < 8 * MB


def test_two_huge_bodies_do_not_stall_a_valid_request(live):
    key = live.key("agent", "a-1")

    def upload() -> None:
        with live.connect() as sock:
            send_until_answered(sock, head(length=80 * MB) + b"[", b"1," * 32768, 80 * MB)

    uploads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in uploads:
        thread.start()
    started = time.monotonic()
    response = live.http.post("/v1/suggest", json={"query": "退款多久到账"}, headers={"X-API-Key": key})
    took = time.monotonic() - started
    for thread in uploads:
        thread.join(10)
    assert response.status_code == 200 and took < 1.0


def test_malformed_json_without_key_is_401_not_400(live):
    response = live.http.post("/v1/suggest", content=b'{"query": ', headers={"Content-Type": "application/json"})
    assert_error(response, 401, "missing_api_key")
    response = live.http.post("/v1/suggest", content=b'{"query": ', headers={"X-API-Key": "kb_wrong"})
    assert_error(response, 401, "invalid_api_key")


def test_body_over_the_limit_is_413_by_length_and_by_chunks(live, live_settings):
    key = live.key("agent", "a-1")
    too_big = b'{"query": "' + b"x" * live_settings.max_body_bytes + b'"}'
    error = assert_error(live.http.post("/v1/suggest", content=too_big, headers={"X-API-Key": key}), 413,
                         "payload_too_large")  # fmt: skip
    assert error["details"] == {"max_body_bytes": live_settings.max_body_bytes}

    def chunks():
        yield from (too_big[i : i + 4096] for i in range(0, len(too_big), 4096))

    response = live.http.post("/v1/suggest", content=chunks(), headers={"X-API-Key": key})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_error(response, 413, "payload_too_large")


def test_body_under_the_limit_is_served(live):
    key = live.key("agent", "a-1")
    body = {"query": "退款多久到账", "context": {f"k{i}": "x" * 200 for i in range(20)}}
    assert live.http.post("/v1/suggest", json=body, headers={"X-API-Key": key}).status_code == 200


def test_a_50_mb_api_key_is_431_without_being_buffered(live):
    with live.connect() as sock:
        sent = send_until_answered(sock, b"GET /v1/suggest HTTP/1.1\r\nHost: kb\r\nX-API-Key: ", b"k" * 65536, 50 * MB)
        answer = Answer(sock)
    assert_error(answer, 431, "headers_too_large")
    assert sent < 50 * MB  # answered before the header was even complete


def test_many_headers_over_the_limit_are_431(live, live_settings):
    count = live_settings.max_header_bytes // 100 + 1
    headers = {f"X-Filler-{i}": "v" * 90 for i in range(count)}
    assert_error(live.http.get("/healthz", headers=headers), 431, "headers_too_large")
    assert live.http.get("/healthz", headers=dict(list(headers.items())[: count // 2])).status_code == 200


def test_slow_header_sender_is_timed_out(live):
    with live.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kb\r\n")
        started = time.monotonic()
        for _ in range(int(HEADER_TIMEOUT / 0.1) + 5):
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        answer = Answer(sock)
    assert_error(answer, 408, "request_timeout")
    assert time.monotonic() - started < HEADER_TIMEOUT + 1.5


def test_half_sent_requests_are_not_held(live):
    socks = [live.connect() for _ in range(100)]
    for i, sock in enumerate(socks):
        if i % 2:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kb\r\nX-Slow: ")
    time.sleep(HEADER_TIMEOUT)
    try:
        assert all(closed_within(sock, 1.5) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    assert live.http.get("/healthz").status_code == 200


@pytest.mark.parametrize("request_bytes", [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"])
def test_malformed_http_gets_the_error_shape(live, request_bytes):
    with live.connect() as sock:
        sock.sendall(request_bytes)
        assert_error(Answer(sock), 400, "bad_request")
