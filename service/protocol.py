"""The HTTP/1.1 protocol `kbassist serve` runs: uvicorn's httptools one, with a bounded request head.

An ASGI app sees a request only once its head is complete, so two attacks never reach
it: a 50 MB header (buffered whole by httptools, which sets no limit) and a client
that sends its head a byte at a time (held open indefinitely: uvicorn's only timer is
the idle keep-alive one, which every byte resets).
This protocol counts the bytes of each request head as they arrive, and its parsed
size once complete, and answers 431 past ``KB_MAX_HEADER_BYTES``, and gives each head ``KB_HEADER_TIMEOUT`` seconds from
its first byte (or from the connection) before answering 408. The check runs after
each read, so a head may overshoot the limit by one read (at most 256 KiB) before
it is refused. httptools' own parse errors get the same JSON error shape (400).

Each response also leaves in one write: uvicorn writes the head as soon as the app starts the
response and the body separately, two sends (and two packets) where one does; a head is
held until the body, which the app sends in the same step of the event loop
(:class:`CorkedTransport`).

It extends uvicorn's ``HttpToolsProtocol`` (passed as ``uvicorn.run(http=...)``);
``tests/security/`` pins the behaviour over real sockets, so an upgrade that changes
the hooks used here (``data_received``, ``on_headers_complete``,
``on_message_complete``, ``on_url``, ``on_header``, ``send_400_response``) fails there.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from service.config import ServiceSettings
from service.errors import error_body
from service.headers import SECURITY_HEADERS

log = logging.getLogger(__name__)


@functools.cache
def _environment_settings() -> ServiceSettings:
    """The settings of a worker process started by uvicorn from an import string (read once)."""
    return ServiceSettings()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size limit and a deadline on each request head."""

    settings: ClassVar[ServiceSettings | None] = None
    """The limits' source; None reads the environment (each worker of ``serve --workers N``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = self.settings or _environment_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.head_timeout = settings.header_timeout
        self.in_head = True
        self.head_bytes = 0
        self.head_size = 0
        self.oversized = False
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CorkedTransport(transport, self.loop)  # type: ignore[assignment]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self.in_head:
            self._arm()
            self.head_bytes += len(data)
        super().data_received(data)
        if self.in_head and self.head_bytes > self.max_head_bytes:
            self._refuse_oversized()

    def on_url(self, url: bytes) -> None:
        self.head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_bytes = 0
        self._disarm()
        if self.head_size > self.max_head_bytes:
            # Raising stops the parser; uvicorn then calls send_400_response, which answers 431.
            self.oversized = True
            raise ValueError("request head too large")
        self.head_size = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.in_head = True

    def send_400_response(self, msg: str) -> None:
        """httptools could not parse the request (or the head was too large): answer in the service's error shape."""
        if self.oversized:
            self._refuse_oversized()
        else:
            self.refuse(400, "bad_request", msg)

    def _refuse_oversized(self) -> None:
        log.warning("refused a request head over %d bytes from %s", self.max_head_bytes, self.client)
        self.refuse(431, "headers_too_large", f"the request head is over {self.max_head_bytes} bytes")

    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` with the JSON error body and close the connection."""
        if self.transport.is_closing():
            return
        body = json.dumps(error_body(code, message)).encode()
        headers = {**SECURITY_HEADERS, "Content-Type": "application/json", "Connection": "close"}
        headers["Content-Length"] = str(len(body))
        head = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
        self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
        self.transport.close()
        self._disarm()

    def _arm(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.in_head or self.transport.is_closing():
            return
        if self.head_bytes:
            log.warning("timed out a request head from %s after %.1f s", self.client, self.head_timeout)
            self.refuse(408, "request_timeout", f"the request head did not arrive within {self.head_timeout:g} s")
        else:
            self.transport.close()


class CorkedTransport:
    """A transport that holds a response head until the next write, so head and body leave in one send.

    A head with nothing after it in the same step of the event loop (a streamed body, a
    ``100 Continue``) is sent on the next step. Everything else is the wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` (after a held head), or hold it if it is a response head."""
        if self._head is not None:
            data, self._head = self._head + bytes(data), None
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now."""
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        """Send what is held, then close."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping what is held."""
        self._head = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent, the held head included."""
        held = len(self._head) if self._head is not None else 0
        return int(self._transport.get_write_buffer_size()) + held

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def protocol_for(settings: ServiceSettings) -> type[GuardedHttpProtocol]:
    """:class:`GuardedHttpProtocol` with the limits of ``settings``."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"settings": settings})
