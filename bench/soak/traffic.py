"""Mixed client traffic across the replicas, as agents' sidebars and a ticket system would send it.

One *flow* is one ticket: a suggest on one replica, then events on that suggestion, a
link and the outcome on the others (so rows written by one replica are used through the
other), sometimes a reopen and a second resolve, sometimes a credit redemption. The
client routes like a load balancer with passive health checks: a replica whose
connection failed is avoided for a second, and the failed request is not retried.
Every request is recorded; every acknowledged write keeps its id for the final check.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

DOWN_SECONDS = 1.0
CONNECTION_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
TIMEOUT = 30.0  # seconds a client waits for an answer; past it the call is an error ("timeout"), not a lost one


@dataclass(frozen=True, slots=True)
class Call:
    """One request: when (s since the clock started), where, what, and how it ended (status None: no answer)."""

    at: float
    replica: str
    op: str
    status: int | None
    ms: float
    code: str | None = None
    suggestion_id: str | None = None


@dataclass
class Acks:
    """What the replicas acknowledged (2xx), kept to be looked up in the database at the end."""

    events: set[str] = field(default_factory=set)
    outcomes: dict[int, str] = field(default_factory=dict)  # id -> idempotency key
    entries: dict[int, str] = field(default_factory=dict)  # ledger entry id -> the client's idempotency key
    suggestions: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (replica, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, event_id: str) -> None:
        """An acknowledged usage event (suggestion event or ticket link)."""
        with self._lock:
            self.events.add(event_id)

    def outcome(self, outcome_id: int, key: str) -> None:
        """An acknowledged ticket outcome."""
        with self._lock:
            self.outcomes[outcome_id] = key

    def entry(self, entry_id: int, key: str) -> None:
        """An acknowledged ledger entry."""
        with self._lock:
            self.entries[entry_id] = key

    def suggestion(self, suggestion_id: str, replica: str, at: float) -> None:
        """An answered suggest (its row is written a moment later, by the replica's writer)."""
        with self._lock:
            self.suggestions[suggestion_id] = (replica, at)


class Router:
    """Round-robin over the replicas, skipping one for ``DOWN_SECONDS`` after its connection failed."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self._down_until: dict[str, float] = {}
        self._turn = 0
        self._lock = threading.Lock()

    def pick(self, avoid: str | None = None) -> str:
        """A replica name: another than ``avoid`` when that one is up, never one marked down if any is up."""
        with self._lock:
            now = time.monotonic()
            up = [n for n in self.urls if self._down_until.get(n, 0.0) <= now] or list(self.urls)
            choices = [n for n in up if n != avoid] or up
            self._turn += 1
            return choices[self._turn % len(choices)]

    def failed(self, name: str) -> None:
        """A connection to ``name`` failed."""
        with self._lock:
            self._down_until[name] = time.monotonic() + DOWN_SECONDS


@dataclass
class Keys:
    """API keys of the run: one per agent (bound to it), one integration key."""

    agents: dict[str, str]
    integration: str


class Flows:
    """The client: ``workers`` threads sending flows until ``stop`` is set."""

    def __init__(self, router: Router, keys: Keys, queries: list[str], *, clock: float, tag: str, seed: int) -> None:
        self.router = router
        self.keys = keys
        self.queries = queries
        self.clock = clock
        self.tag = tag
        self.calls: list[Call] = []
        self.acks = Acks()
        self._seed = seed
        self._tickets = 0
        self._lock = threading.Lock()

    def run(self, workers: int, stop: threading.Event, think: float) -> list[threading.Thread]:
        """Start the worker threads."""
        threads = [
            threading.Thread(target=self._work, args=(i, stop, think), name=f"soak-client-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _work(self, worker: int, stop: threading.Event, think: float) -> None:
        rng = random.Random(self._seed + worker)
        clients = {name: httpx.Client(base_url=url, timeout=TIMEOUT) for name, url in self.router.urls.items()}
        try:
            while not stop.is_set():
                self.flow(clients, rng)
                stop.wait(think)
        finally:
            for client in clients.values():
                client.close()

    def _ticket(self) -> str:
        with self._lock:
            self._tickets += 1
            return f"SK-{self.tag}-{self._tickets}"

    def send(
        self, clients: dict[str, httpx.Client], op: str, method: str, path: str, *, avoid: str | None = None, **kw: Any
    ) -> tuple[str, httpx.Response | None]:
        """One request on a picked replica, recorded; the replica and the response (None: the connection failed)."""
        name = self.router.pick(avoid)
        began = time.monotonic()
        code = None
        try:
            response: httpx.Response | None = clients[name].request(method, path, **kw)
        except CONNECTION_ERRORS:
            self.router.failed(name)
            response = None
        except httpx.TimeoutException:  # the replica is up but did not answer in time: an error, never "lost"
            response, code = None, "timeout"
        at, ms = began - self.clock, (time.monotonic() - began) * 1000
        status = response.status_code if response is not None else None
        if response is not None and status is not None and status >= 300:
            code = _error_code(response)
        suggestion = path.split("/")[3] if path.startswith("/v1/suggestions/") else None
        self.calls.append(Call(at, name, op, status, ms, code, suggestion))
        return name, response

    def flow(self, clients: dict[str, httpx.Client], rng: random.Random) -> None:
        """One ticket from suggest to outcome (see the module docstring)."""
        agent = rng.choice(sorted(self.keys.agents))
        as_agent = {"X-API-Key": self.keys.agents[agent]}
        as_system = {"X-API-Key": self.keys.integration}
        ticket = self._ticket()
        body = {"query": rng.choice(self.queries), "ticket_id": ticket, "channel": "chat", "top_k": 5}
        where, response = self.send(clients, "suggest", "POST", "/v1/suggest", json=body, headers=as_agent)
        if response is None or response.status_code != 200:
            return
        suggestion = response.json()
        sid = suggestion["suggestion_id"]
        self.acks.suggestion(sid, where, time.monotonic() - self.clock)
        articles = [r["article_id"] for r in suggestion["results"]]
        if not articles:
            return
        shown = {"events": [{"event_id": uuid.uuid4().hex, "type": "shown", "article_id": a} for a in articles[:3]]}
        _, response = self.send(
            clients, "events", "POST", f"/v1/suggestions/{sid}/events/batch", avoid=where, json=shown, headers=as_agent
        )
        if response is not None and response.status_code == 200:
            for item, result in zip(shown["events"], response.json()["results"], strict=True):
                if result["status"] == 200:
                    self.acks.event(item["event_id"])
        vote = {"event_id": uuid.uuid4().hex, "type": rng.choice(["copied", "helpful"]), "article_id": articles[0]}
        for op, path, body in (
            ("event", f"/v1/suggestions/{sid}/events", vote),
            ("link", f"/v1/tickets/{ticket}/links", {"event_id": uuid.uuid4().hex, "article_id": articles[0]}),
        ):
            answer, _ = self._write(clients, op, path, body, as_agent, avoid=where)
            if answer is not None:
                self.acks.event(answer["event_id"])
        statuses = ["resolved", "reopened", "resolved"] if rng.random() < 0.25 else ["resolved"]
        for status in statuses:
            outcome = {"status": status, "csat": rng.randint(3, 5), "complexity": rng.choice(["L1", "L2", "L3"])}
            outcome["agent_ids"] = [agent]
            answer, key = self._write(clients, "outcome", f"/v1/tickets/{ticket}/outcome", outcome, as_system)
            if answer is not None:
                self.acks.outcome(answer["id"], key)
        if rng.random() < 0.15:
            redemption = {"agent_id": agent, "points": 1, "reward": "咖啡券", "idempotency_key": uuid.uuid4().hex}
            answer, _ = self._write(clients, "redemption", "/v1/credits/redemptions", redemption, as_system)
            if answer is not None:
                self.acks.entry(answer["entry"]["id"], redemption["idempotency_key"])

    def _write(
        self,
        clients: dict[str, httpx.Client],
        op: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        avoid: str | None = None,
    ) -> tuple[dict[str, Any] | None, str]:
        """POST ``body`` with a fresh ``Idempotency-Key``: the answer if 200 (else None) and the key."""
        key = uuid.uuid4().hex
        _, response = self.send(
            clients, op, "POST", path, avoid=avoid, json=body, headers={**headers, "Idempotency-Key": key}
        )
        answer: dict[str, Any] | None = (
            response.json() if response is not None and response.status_code == 200 else None
        )
        return answer, key


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"
