"""The processes of a soak: `kbassist` commands, two `kbassist serve` replicas, a PostgreSQL database of its own."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from service.cli import main; main()"]
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def kbassist(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one `kbassist` command with ``env``; its output is captured."""
    return subprocess.run([*CLI, *args], env=env, cwd=ROOT, check=check, capture_output=True, text=True)


@contextlib.contextmanager
def own_database(keep: bool) -> Iterator[str]:
    """A new PostgreSQL database for the run (dropped afterwards unless ``keep``); yields its URL."""
    import psycopg

    name = f"kbsoak_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(database=name)
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Replica:
    """One `kbassist serve` process on ``port``; it can be killed and started again on the same port."""

    name: str
    port: int
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    lives: list[dict[str, float]] = field(default_factory=list)  # per start: pid, start/end RSS

    @property
    def url(self) -> str:
        """Base URL of the replica."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (a new log file per start)."""
        log = (self.log_dir / f"{self.name}-{len(self.lives) + 1}.log").open("wb")
        command = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.lives.append({"pid": float(self.process.pid), "started": time.monotonic()})

    def ready(self) -> dict[str, object] | None:
        """``/readyz`` while it answers 200, else None."""
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as response:
                body: dict[str, object] = json.loads(response.read())
                return body
        except OSError:
            return None

    def wait_ready(self, timeout: float) -> float:
        """Seconds from the start of the process until ``/readyz`` answers 200.

        Raises:
            SystemExit: the process died, or was not ready within ``timeout`` seconds.
        """
        started = self.lives[-1]["started"]
        while time.monotonic() - started < timeout:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"replica {self.name} exited with {self.process.returncode}; see {self.log_dir}")
            if self.ready() is not None:
                return time.monotonic() - started
            time.sleep(0.25)
        raise SystemExit(f"replica {self.name} not ready after {timeout:.0f} s; see {self.log_dir}")

    def rss(self) -> float:
        """RSS of the running process in MiB (0 when none runs)."""
        running = self.process is not None and self.process.poll() is None
        return rss_mb(self.process.pid) if running and self.process is not None else 0.0

    def note_rss(self, when: str) -> None:
        """Record the current process's RSS as ``start`` or ``end`` of this life."""
        assert self.process is not None
        self.lives[-1][when] = rss_mb(self.process.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no drain; whatever the process held in memory is gone."""
        assert self.process is not None
        self.note_rss("end")
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM and wait (a clean shutdown drains the suggestion writer); the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def replica_env(base: dict[str, str], *, database_url: str, data_dir: Path, content_dir: Path) -> dict[str, str]:
    """The environment of the replicas and commands: one database, one shared data (index) folder."""
    env = {name: value for name, value in base.items() if not name.startswith("KB_")}
    env.update(
        KB_DATABASE_URL=database_url,
        KB_DATA_DIR=str(data_dir),
        KB_CONTENT_DIR=str(content_dir),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def environ() -> dict[str, str]:
    """This process's environment (a function, so tests can call ``replica_env`` with a plain dict)."""
    return dict(os.environ)
