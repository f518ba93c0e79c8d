"""Data access for suggestions: keyword-only functions. No HTTP types here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlmodel import Session

from service.suggestions.models import Suggestion, SuggestionRow


def insert_suggestions(*, connection: Connection, rows: Sequence[SuggestionRow]) -> None:
    """Insert many suggestion rows in one statement (the background writer's batch)."""
    if rows:
        connection.execute(insert(Suggestion), [row.model_dump() for row in rows])


def get_suggestion(*, session: Session, suggestion_id: str) -> Suggestion | None:
    """One stored suggestion."""
    return session.get(Suggestion, suggestion_id)
