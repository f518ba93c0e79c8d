"""Data access for suggestions: keyword-only functions. No HTTP types here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from service.suggestions.models import Suggestion, SuggestionRow


def insert_suggestions(*, connection: Connection, rows: Sequence[SuggestionRow]) -> None:
    """Insert many suggestion rows in one statement (a batch of the group-commit writer, in its transaction).

    On PostgreSQL the transaction commits without waiting for its WAL flush: the suggest
    answer waits for this commit, and a flushed commit costs ~9 ms here against ~0.5 ms
    (docs/operations.md, "Suggestion rows"). The row is visible to every session at once and
    survives any kbassist process; only a crash of the PostgreSQL server itself can lose the
    last few hundred ms of suggestion rows. Events, outcomes and ledger entries keep full
    synchronous commit.
    """
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
    connection.execute(insert(Suggestion), [row.model_dump() for row in rows])


def get_suggestion(*, session: Session, suggestion_id: str) -> Suggestion | None:
    """One stored suggestion."""
    return session.get(Suggestion, suggestion_id)
