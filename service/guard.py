"""Authenticate before the body is read, and bound the body (pure ASGI middleware).

FastAPI reads and parses a JSON body before it resolves any dependency, so a key
checked in a dependency comes too late: an 80 MB array sent without a key was read,
parsed on the event loop (stalling every other client) and only then refused. Here a
request that carries a body must present a valid key first (no open endpoint takes
a body), then its body is read up to ``KB_MAX_BODY_BYTES`` and handed on. The
principal found is left in the scope for :func:`service.deps.get_principal`.

Early refusals close the connection, so the unread rest of the body is never read.
With bodies bounded, FastAPI's JSON parse stays short enough for the event loop: the
worst 64 KiB body (the default limit, over ten times the largest valid suggest
request), an array of 32,768 numbers, takes ~3 ms in ``json.loads`` on the 2-core dev
VM, where 80 MB takes ~1.7 s. Measure with
``python -m timeit -s "import json; s = '[' + '1,' * 32767 + '1]'" "json.loads(s)"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, ServiceError, Unauthorized, error_response
from service.keys.auth import KeyVerifier, Principal

PRINCIPAL = "kbassist.principal"


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``, if any."""
    x_api_key = headers.get("x-api-key")
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    authorization = headers.get("authorization")
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


async def authenticate(verifier: KeyVerifier, key: str | None) -> Principal:
    """The principal behind ``key`` (the database is asked off the event loop, on a cache miss).

    Raises:
        Unauthorized: no key, or an unknown or revoked one.
    """
    if not key:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer", code="missing_api_key")
    principal = verifier.cached(key)
    if principal is None:
        principal = await run_in_threadpool(verifier.verify, key)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    return principal


class RequestGuard:
    """Key before body, and at most ``max_body_bytes`` of it (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, verifier: Callable[[], KeyVerifier], max_body_bytes: int) -> None:
        self.app = app
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if "transfer-encoding" not in headers and length in (None, "0"):
            await self.app(scope, receive, send)
            return
        try:
            scope[PRINCIPAL] = await authenticate(self.verifier(), presented_key(headers))
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                raise self._too_large()
            body = await self._read_body(receive)
        except ServiceError as exc:
            await error_response(exc, close=True)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> PayloadTooLarge:
        limit = self.max_body_bytes
        return PayloadTooLarge(f"the body is over {limit} bytes", details={"max_body_bytes": limit})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the already-read body once, then defers to the server (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
