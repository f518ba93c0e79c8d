"""Recorded content gaps: the stable id of a group of queries, and keyword-only data access.

The gaps report (``service.usage.gaps``) regroups queries on every run, so its groups have no
identity; an editor *records* one (``POST /v1/gaps``, ``kbassist gaps record``) to give it an id
articles can name in their ``gap:`` front matter. The id is a hash of the masked examples, so
recording the same group twice (a retry, two editors, the dashboard and the CLI) finds one row.
The credit ledger closes a gap when a published article answers it
(``service.credits.settle.record_build``); nothing else changes a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from indexer.article import GAP_ID_RE
from service.db import utcnow
from service.usage.crud import writing
from service.usage.models import ContentGap

TITLE_LENGTH = 200


def normal_examples(examples: Sequence[str]) -> list[str]:
    """Examples with runs of whitespace made one space, blanks and repeats dropped, in their order."""
    cleaned = (" ".join(e.split()) for e in examples)
    return list(dict.fromkeys(e for e in cleaned if e))


def gap_id(examples: Sequence[str]) -> str:
    """The id of a group of masked example queries: ``gap-`` and 12 hex digits of a hash of the sorted examples.

    Order and case do not matter (the report lists a group's examples newest first, and a client
    may not); 48 bits keep ids short enough to type into front matter with no collision in practice.
    """
    canonical = "\n".join(sorted({e.casefold() for e in normal_examples(examples)}))
    value = "gap-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    assert GAP_ID_RE.fullmatch(value)  # the shape the indexer accepts in front matter
    return value


def record_gap(
    *,
    session: Session,
    examples: Sequence[str],
    title: str | None,
    size: int,
    closest_article: str | None,
    recorded_by: str,
) -> tuple[ContentGap, bool]:
    """Record a group of masked queries as a gap and commit; returns the row and whether it is new.

    A group recorded before (same examples) returns the first row unchanged, whatever the title.
    The title defaults to the first example.

    Raises:
        ValueError: no example is left after dropping blanks.
    """
    kept = normal_examples(examples)
    if not kept:
        raise ValueError("at least one non-blank example query is needed")
    row = {
        "id": gap_id(kept),
        "title": ((title or "").strip() or kept[0])[:TITLE_LENGTH],
        "examples": kept,
        "size": max(size, len(kept)),
        "closest_article": closest_article,
        "recorded_by": recorded_by,
        "recorded_at": utcnow(),
        "status": "open",
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ContentGap).values([row]).on_conflict_do_nothing(index_elements=["id"])
    with writing(session):
        created = bool(session.exec(statement.returning(ContentGap.id)).all())
        session.commit()
    gap = get_gap(session=session, gap_id=str(row["id"]))
    assert gap is not None
    return gap, created


def get_gap(*, session: Session, gap_id: str) -> ContentGap | None:
    """One recorded gap, read fresh."""
    query = select(ContentGap).where(ContentGap.id == gap_id).execution_options(populate_existing=True)
    return session.exec(query).first()


def list_gaps(*, session: Session, status: str | None = "open") -> Sequence[ContentGap]:
    """Recorded gaps, oldest first, of one status (None: all)."""
    query = select(ContentGap).order_by(col(ContentGap.recorded_at), col(ContentGap.id))
    if status is not None:
        query = query.where(ContentGap.status == status)
    return session.exec(query).all()


def match_groups(*, session: Session, groups: Sequence[Sequence[str]]) -> list[tuple[str, str | None]]:
    """For each group of the gaps report (its examples): the recorded gap sharing an example, with its status.

    Groups are regrouped on every report, so a recorded group shows again with other examples;
    one shared example is enough to recognise it. An unmatched group gets the id recording it
    would give, and no status.
    """
    known: dict[str, tuple[str, str]] = {}
    for gap in list_gaps(session=session, status=None):
        for example in gap.examples:
            known.setdefault(example.casefold(), (gap.id, gap.status))
    found: list[tuple[str, str | None]] = []
    for examples in groups:
        hits = [known[e.casefold()] for e in normal_examples(examples) if e.casefold() in known]
        found.append(hits[0] if hits else (gap_id(examples), None))
    return found


def close_gap(*, session: Session, gap_id: str, article_id: str, content_hash: str, at: datetime) -> bool:
    """Close an open gap as answered by an article version; False if it was not open. Does not commit.

    The caller's transaction decides: the ledger closes a gap in the same transaction as the
    bonus it pays for it, so a gap is closed (and paid) once.
    """
    statement = (
        update(ContentGap)
        .where(col(ContentGap.id) == gap_id, col(ContentGap.status) == "open")
        .values(status="closed", closed_by_article=article_id, closed_by_version=content_hash, closed_at=at)
    )
    return int(session.exec(statement).rowcount) == 1
