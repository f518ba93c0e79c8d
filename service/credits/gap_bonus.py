"""The content-gap bonus: an article naming a recorded gap in its ``gap:`` front matter (pure, no database).

A gap is recorded by an editor (``service.usage.gap_records``) before anyone writes for it; the
bonus keys on that record, not on anything an author can add alone: the gap must be recorded,
still open, and recorded before the content version was first served. The version that earns it
closes the gap, so a gap pays once, to the authors of the article that answered it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.credits.earn import Credit, Version
from service.credits.rules import Rules


@dataclass(frozen=True, slots=True)
class GapFact:
    """A recorded content gap as the ledger sees it when an article names it."""

    id: str
    title: str
    status: str
    recorded_at: datetime
    closed_by_article: str | None = None


@dataclass(frozen=True, slots=True)
class GapBonus:
    """What naming a gap earns: whether the version closes the gap, its credits, and why (or why not)."""

    closes: bool
    credits: list[Credit]
    note: str
    warn: bool = True


def gap_bonus(
    version: Version, previous: Version | None, gap: GapFact | None, first_seen_at: datetime, rules: Rules
) -> GapBonus | None:
    """The bonus for a content version, served first at ``first_seen_at``, that names a gap (None: it names none).

    It closes the gap and pays each author once per gap (fact ``gap_article:{gap}:{author}``) when
    the version is a publication (a new article, or an update of at least ``article_updated``'s
    ``min_change_chars``) and the gap is recorded, open, and was recorded before ``first_seen_at``:
    naming a gap recorded later, or one another article already answered, earns nothing.
    """
    if version.gap is None:
        return None
    article, named = version.article_id, version.gap
    said = f"article {article} names gap {named}"
    if gap is not None and gap.status != "open":
        if gap.closed_by_article == article:
            return GapBonus(False, [], f"{said}, which it closed before", warn=False)
        return GapBonus(False, [], f"{said}, already closed by article {gap.closed_by_article}: no gap bonus")
    if previous is not None:
        updated = rules.get("article_updated")
        change = abs(version.chars - previous.chars)
        if updated is None or change < updated.params["min_change_chars"]:
            return GapBonus(False, [], f"{said}, but a {change}-character change is no publication: no gap bonus")
    if gap is None:
        return GapBonus(False, [], f"{said}, which is not recorded (kbassist gaps list): no gap bonus")
    if gap.recorded_at >= first_seen_at:
        return GapBonus(False, [], f"{said}, recorded after this version was first served: no gap bonus")
    rule = rules.get("gap_article")
    points = rule.points if rule is not None else 0
    why = f"article {article} answers content gap {named} ({gap.title})"
    credits = [
        Credit(f"gap_article:{named}:{author}", author, points, "gap_article", why, article, version.content_hash)
        for author in (version.authors if points else ())
    ]
    return GapBonus(True, credits, why)
