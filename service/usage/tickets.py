"""What a ticket's outcome history and link events say about it: state, net links, start time.

Definitions used by every report:

- a ticket is **closed** when its latest outcome is ``resolved`` or ``closed``; it counts in
  the period of that latest outcome;
- it is **solved** when closed and no ``reopened`` outcome followed any resolve/close within
  ``KB_USAGE_REOPEN_WINDOW_DAYS`` days;
- its **links** are the articles linked and not unlinked since (events replayed in time order);
- it **starts** at its earliest suggestion, event or outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.usage.facts import EventFact, OutcomeFact, SuggestionFact
from service.usage.models import CLOSED


@dataclass(frozen=True, slots=True)
class TicketState:
    """A ticket as of its latest outcome."""

    ticket_id: str
    status: str
    at: datetime
    closed: bool
    solved: bool
    team: str | None
    channel: str | None
    agent_ids: tuple[str, ...]


def ticket_states(outcomes: Iterable[OutcomeFact], window_days: int) -> dict[str, TicketState]:
    """The state of each ticket from its outcome history (oldest first)."""
    history: dict[str, list[OutcomeFact]] = defaultdict(list)
    for outcome in outcomes:
        history[outcome.ticket_id].append(outcome)
    window = timedelta(days=window_days)
    states = {}
    for ticket_id, items in history.items():
        items.sort(key=lambda o: o.occurred_at)
        latest = items[-1]
        reopened = False
        last_close: datetime | None = None
        for o in items:
            if o.status in CLOSED:
                last_close = o.occurred_at
            elif o.status == "reopened" and last_close is not None and o.occurred_at - last_close <= window:
                reopened = True
        closed = latest.status in CLOSED
        states[ticket_id] = TicketState(
            ticket_id,
            latest.status,
            latest.occurred_at,
            closed,
            closed and not reopened,
            latest.team,
            latest.channel,
            latest.agent_ids,
        )
    return states


def net_links(events: Iterable[EventFact]) -> dict[str, dict[str, datetime]]:
    """Per ticket, the linked articles still linked, with the time of their first link."""
    links: dict[str, dict[str, datetime]] = defaultdict(dict)
    for e in sorted((e for e in events if e.ticket_id), key=lambda e: e.occurred_at):
        assert e.ticket_id is not None
        if e.type == "linked":
            links[e.ticket_id].setdefault(e.article_id, e.occurred_at)
        elif e.type == "unlinked":
            links[e.ticket_id].pop(e.article_id, None)
    return {t: a for t, a in links.items() if a}


def ticket_starts(
    events: Iterable[EventFact], outcomes: Iterable[OutcomeFact], suggestions: Iterable[SuggestionFact]
) -> dict[str, datetime]:
    """The earliest time each ticket was seen (suggestion, event or outcome)."""
    starts: dict[str, datetime] = {}
    seen: Sequence[tuple[str | None, datetime]] = (
        [(e.ticket_id, e.occurred_at) for e in events]
        + [(o.ticket_id, o.occurred_at) for o in outcomes]
        + [(s.ticket_id, s.created_at) for s in suggestions]
    )
    for ticket_id, at in seen:
        if ticket_id is not None and (ticket_id not in starts or at < starts[ticket_id]):
            starts[ticket_id] = at
    return starts
