"""The "write this article" hand-off: a front-matter skeleton for a content-gap group.

Strings are written as JSON strings, which YAML reads as double-quoted scalars, so a title
with a colon, quote or ``#`` stays one value. The skeleton is a draft: ``kbassist validate``
still asks for a category when the group has no closest article, and for the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from indexer.lang import detect_lang

REVIEW_AFTER = timedelta(days=180)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def skeleton(title: str, examples: Sequence[str], closest: Mapping[str, Any], gap_id: str | None, today: date) -> str:
    """Front matter and headings for a new draft answering a gap group.

    Args:
        title: the recorded gap's title, else the group's first example.
        examples: the group's masked example queries (listed in the body as what customers ask).
        closest: the metadata of the group's closest article (its category and tags are the suggestion), or {}.
        gap_id: the recorded gap's id (``gap:`` line), or None when the group is not recorded.
        today: the ``updated`` date; ``review_by`` is 180 days later.
    """
    lang = detect_lang(title)
    tags = [str(t) for t in closest.get("tags") or []]
    lines = [
        "---",
        f"id: {_q('new-' + gap_id if gap_id else 'new-article')}",
        f"title: {_q(title)}",
        f"lang: {lang}",
        f"category: {_q(str(closest.get('category') or ''))}",
        f"tags: [{', '.join(_q(t) for t in tags)}]",
        "product: all",
        "channel: [chat]",
        "audience: public",
        "status: draft",
        "authors: []",
        f"updated: {today.isoformat()}",
        f"review_by: {(today + REVIEW_AFTER).isoformat()}",
    ]
    if gap_id:
        lines.append(f"gap: {gap_id}")
    asked = "客户这样问" if lang == "zh" else "Customers ask"
    reply = "标准答复" if lang == "zh" else "Reply"
    # The examples are a note for the writer (a quote to delete), not text to publish.
    lines += ["---", f"# {title}", "", f"> {asked}: {' | '.join(examples)}", "", f"## {reply}", "", ""]
    return "\n".join(lines)
