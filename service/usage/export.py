"""An evaluation dataset from real traffic (format of ../shared/datasets/README.md).

Articles are the current published articles of the content source. Queries are the masked
customer messages of tickets **solved** (closed, no reopen within the window; see
``service.usage.tickets``) whose net links point at exported articles: those links are the
relevance labels. A query asked on several tickets keeps the union of their labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.article import Article
from indexer.lang import detect_lang
from service.usage.facts import EventFact, OutcomeFact, SuggestionFact
from service.usage.tickets import net_links, ticket_states


@dataclass(frozen=True, slots=True)
class Exported:
    """What was written."""

    articles: int
    queries: int
    tickets: int


def labelled_queries(
    suggestions: Iterable[SuggestionFact],
    events: Sequence[EventFact],
    outcomes: Sequence[OutcomeFact],
    article_ids: set[str],
    window_days: int,
) -> tuple[dict[str, set[str]], int]:
    """Query text → relevant article ids, and how many tickets contributed."""
    states = ticket_states(outcomes, window_days)
    links = net_links(events)
    labels: dict[str, set[str]] = {}
    tickets: set[str] = set()
    for s in suggestions:
        if not s.ticket_id or not s.query.strip() or not (state := states.get(s.ticket_id)) or not state.solved:
            continue
        relevant = set(links.get(s.ticket_id, {})) & article_ids
        if relevant:
            labels.setdefault(s.query.strip(), set()).update(relevant)
            tickets.add(s.ticket_id)
    return labels, len(tickets)


def write_dataset(folder: Path, articles: Sequence[Article], labels: dict[str, set[str]], tickets: int) -> Exported:
    """Write ``articles.jsonl`` and ``queries.jsonl`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "articles.jsonl").open("w", encoding="utf-8") as fh:
        for a in articles:
            meta = {"category": a.category, "tags": a.tags, "product": a.product}
            record = {"id": a.id, "title": a.title, "body": a.body, "lang": a.lang, "meta": meta}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for text, relevant in sorted(labels.items()):
            record = {"query": text, "relevant_ids": sorted(relevant), "lang": detect_lang(text)}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return Exported(len(articles), len(labels), tickets)
