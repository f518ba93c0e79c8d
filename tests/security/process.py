"""A live server in a process of its own: `kbassist serve` on a free loopback port.

Unlike the thread in ``conftest.serving``, nothing is shared with the test process but
the database and the files: the server starts from a command line, reads ``KB_``
settings from its environment, logs to its own stderr (which tests read as the
operator would), and its start-up is a real start-up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.db import make_engine
from service.keys import crud
from tests.security.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


@dataclass
class ServerProcess:
    """A running `kbassist serve`: its HTTP client, its database and its log."""

    http: httpx.Client
    engine: Engine
    log_path: Path
    process: subprocess.Popen[bytes]

    def key(self, role: str, agent_id: str | None = None) -> str:
        """A new API key in the server's database."""
        with Session(self.engine) as session:
            _, key = crud.create_api_key(session=session, role=role, agent_id=agent_id)
        return key

    def log(self) -> str:
        """Everything the server has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def server_env(*, database_url: str, data_dir: Path, index_dir: Path, content_dir: Path) -> dict[str, str]:
    """The environment of a server process: this one's, without its ``KB_`` settings, plus these."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KB_")}
    env.update(
        KB_DATABASE_URL=database_url,
        KB_DATA_DIR=str(data_dir),
        KB_INDEX_DIR=str(index_dir),
        KB_CONTENT_DIR=str(content_dir),
        KB_RELOAD_INTERVAL="0.2",
        KB_KEY_CACHE_SECONDS="0",
    )
    return env


@contextlib.contextmanager
def server_process(env: dict[str, str], log_path: Path) -> Iterator[ServerProcess]:
    """Start `kbassist serve` (FakeEmbedder) with ``env``, wait until it answers, stop it with SIGTERM."""
    port = free_port()
    command = [sys.executable, "-m", "tests.security.fake_serve", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    engine = make_engine(env["KB_DATABASE_URL"])
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_until_up(client, process, log_path)
            yield ServerProcess(client, engine, log_path, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        engine.dispose()


def _wait_until_up(client: httpx.Client, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if client.get("/healthz").status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {START_SECONDS} s:\n{log_path.read_text()[-3000:]}")
