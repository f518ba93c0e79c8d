"""Filter values and the request's ``channel`` are checked against the serving build's taxonomy.

Unchecked, a filter naming a category nobody uses would return an empty list, which a
client cannot tell from "nothing matched". The build carries a copy of ``_taxonomy.yaml``
(``indexer.layout.CONFIG_FILES``); a build without one is checked against the values
its articles carry. Tags are free-form (the taxonomy lists none) and are not checked.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from indexer.search import Retriever
from indexer.validate import Vocabulary
from service.errors import InvalidInput
from service.suggestions.schemas import SuggestFilters

_known: weakref.WeakKeyDictionary[Retriever, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()


def known_values(retriever: Retriever) -> Mapping[str, frozenset[str]]:
    """The allowed values of each checked filter for this build (read once per build)."""
    known = _known.get(retriever)
    if known is None:
        vocab = Vocabulary.load(retriever.folder)
        metas = retriever.articles.values()
        known = {
            "category": frozenset(vocab.categories or {str(m.get("category")) for m in metas if m.get("category")}),
            "product": frozenset(vocab.products or {str(m.get("product")) for m in metas if m.get("product")}),
            "channel": frozenset(vocab.channels or {str(c) for m in metas for c in m.get("channel") or ()}),
        }
        _known[retriever] = known
    return known


def _unknown(field: str, value: str, allowed: frozenset[str]) -> dict[str, Any]:
    return {"field": field, "message": f"unknown value {value!r}", "type": "unknown_value", "allowed": sorted(allowed)}


def check_filters(retriever: Retriever, filters: SuggestFilters, channel: str | None = None) -> None:
    """Refuse filter values, and a request ``channel``, that the build does not know.

    Raises:
        InvalidInput: 422 naming each unknown value and listing the allowed ones.
    """
    known = known_values(retriever)
    details = []
    if channel is not None and channel not in known["channel"]:
        details.append(_unknown("channel", channel, known["channel"]))
    for name, allowed in known.items():
        unknown = [value for value in getattr(filters, name) if value not in allowed]
        details += [_unknown(f"filters.{name}", value, allowed) for value in unknown]
    if details:
        message = "; ".join(f"{d['field']}: {d['message']} (allowed: {', '.join(d['allowed'])})" for d in details)
        raise InvalidInput(message, details=details)
