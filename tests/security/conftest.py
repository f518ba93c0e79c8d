"""A live server for the security suite: uvicorn with the protocol `kbassist serve` runs, on a free port.

The server runs in a thread of the test process (the fake-embedder index, on SQLite
and PostgreSQL through the service tests' ``db_url``), so tests can reach the app's
database while they talk to it over real sockets. Findings whose proof is a start-up or
the server's own log run it as a process instead (``process.py``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session

from indexer.config import Settings
from service.main import create_app
from service.protocol import protocol_for
from service.suggestions.models import Suggestion
from tests.conftest import FakeEmbedder
from tests.service.conftest import create_key, db_url, make_settings, shared_index

__all__ = ["db_url", "shared_index"]

HEADER_TIMEOUT = 1.0


@dataclass
class Live:
    """A running server: its address, app and an HTTP client."""

    host: str
    port: int
    app: FastAPI
    http: httpx.Client

    def key(self, role: str, agent_id: str | None = None) -> str:
        """A new API key in the server's database."""
        return create_key(self.app, role, agent_id)

    def stored(self, suggestion_id: str) -> Suggestion:
        """The suggestion row (committed before the suggest answer)."""
        with Session(self.app.state.engine) as session:
            row = session.get(Suggestion, suggestion_id)
        assert row is not None
        return row

    def connect(self) -> socket.socket:
        """A raw TCP connection to the server."""
        return socket.create_connection((self.host, self.port), timeout=5)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(settings: Settings, extend: Callable[[FastAPI], None] | None = None) -> Iterator[Live]:
    """``settings``' app under uvicorn, as `kbassist serve` runs it, until the block ends.

    ``extend`` may add routes before the server starts (a test double of a service built elsewhere).
    """
    app = create_app(settings, embedder=FakeEmbedder())
    if extend is not None:
        extend(app)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol_for(settings), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Live("127.0.0.1", port, app, client)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def live_settings(db_url: str, shared_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the live server: short head timeout, docs and metrics behind a key."""
    base = make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index)
    return base.model_copy(update={"header_timeout": HEADER_TIMEOUT, "docs_access": "key", "metrics_access": "key"})


@pytest.fixture(scope="module")
def live(live_settings: Settings) -> Iterator[Live]:
    with serving(live_settings) as server:
        yield server
