"""The end-of-run checks of a soak: pure functions over the recorded calls, plus the database look-ups."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from soak.traffic import Acks, Call

IN_FLIGHT_SECONDS = 30.0  # a request begun this long before the kill may still have been cut by it (client timeout)


@dataclass(frozen=True, slots=True)
class Kill:
    """The SIGKILL of ``replica`` at ``at`` (s since the clock started) and when its restart was ready again."""

    replica: str
    at: float
    ready_at: float

    def cut(self, call: Call) -> bool:
        """Whether ``call`` may have been cut by the kill: to the killed replica, ending while it was down."""
        ended = call.at + call.ms / 1000
        return (
            call.replica == self.replica
            and call.at >= self.at - IN_FLIGHT_SECONDS
            and ended >= self.at
            and (call.at <= self.ready_at)
        )


@dataclass
class Tally:
    """How the calls to one replica ended."""

    ok: int = 0
    lost: int = 0  # no answer: connections the kill cut or refused
    errors: list[Call] = field(default_factory=list)


def classify(calls: Iterable[Call], kill: Kill | None) -> dict[str, Tally]:
    """Per replica: answered, lost to the kill, and errors (anything else, a 404 for an answered suggestion included).

    Args:
        calls: every request of the run.
        kill: the fault; without one, every failed connection is an error.
    """
    tallies: dict[str, Tally] = defaultdict(Tally)
    for call in calls:
        tally = tallies[call.replica]
        if call.status is not None and 200 <= call.status < 300:
            tally.ok += 1
        elif call.status is None and call.code != "timeout" and kill is not None and kill.cut(call):
            tally.lost += 1
        else:
            tally.errors.append(call)
    return dict(tallies)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0–100) of ``values``; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def per_minute(calls: Iterable[Call], ops: set[str]) -> list[tuple[int, int, float, float]]:
    """``(minute, answered calls, p50 ms, p99 ms)`` of the 2xx calls of ``ops``, per minute of the run."""
    minutes: dict[int, list[float]] = defaultdict(list)
    for call in calls:
        if call.op in ops and call.status is not None and 200 <= call.status < 300:
            minutes[int(call.at // 60)].append(call.ms)
    return [(m, len(v), percentile(v, 50), percentile(v, 99)) for m, v in sorted(minutes.items())]


def _present(engine: sa.Engine, table: str, column: str, values: Iterable[object]) -> set[object]:
    wanted = list(values)
    found: set[object] = set()
    with engine.connect() as connection:
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            query = sa.text(f"SELECT {column} FROM {table} WHERE {column} IN :values").bindparams(
                sa.bindparam("values", expanding=True)
            )
            found.update(connection.execute(query, {"values": chunk}).scalars())
    return found


@dataclass
class Missing:
    """Acknowledged writes the database does not hold; each list must be empty (a 2xx suggest means a committed row)."""

    events: list[str]
    outcomes: list[int]
    entries: list[int]
    suggestions: list[str]


def missing(database_url: str, acks: Acks) -> Missing:
    """Look every acknowledged id up in the database."""
    engine = sa.create_engine(database_url)
    try:
        events = acks.events - _present(engine, "usage_events", "event_id", acks.events)
        outcomes_found = _present(engine, "ticket_outcomes", "id", acks.outcomes)
        entries_found = _present(engine, "credit_entries", "id", acks.entries)
        suggestions = set(acks.suggestions) - _present(engine, "suggestions", "id", acks.suggestions)
        with engine.connect() as connection:
            keys = dict(connection.execute(sa.text("SELECT id, idempotency_key FROM credit_entries")).tuples().all())
            outcome_keys = dict(
                connection.execute(sa.text("SELECT id, idempotency_key FROM ticket_outcomes")).tuples().all()
            )
    finally:
        engine.dispose()
    return Missing(
        events=sorted(events),
        outcomes=sorted(i for i, k in acks.outcomes.items() if i not in outcomes_found or outcome_keys.get(i) != k),
        entries=sorted(
            i for i, k in acks.entries.items() if i not in entries_found or not str(keys.get(i)).endswith(f":{k}")
        ),
        suggestions=sorted(suggestions),
    )
