"""What a stored text field may hold: length limits and clean characters, the same on every database.

SQLite stores a VARCHAR of any length and any code point; PostgreSQL rejects a NUL
(``text fields cannot contain NUL``) and an over-long value, and neither driver can
encode a lone surrogate. Left to the database, one such row failed the whole batch it
was inserted with. So every field that is stored is validated at the API edge with the
limits its column declares: a value that is too long is a 422 naming the field (so is
a lone surrogate, which the JSON parser refuses), control characters are removed.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

AGENT_ID_MAX = 64
TICKET_ID_MAX = 128
CHANNEL_MAX = 32
LANG_MAX = 16
QUERY_MAX = 4000
KEY_NAME_MAX = 200

_KEEP_IN_TEXT = frozenset("\t\n\r")


def clean_line(value: str) -> str:
    """``value`` without control characters (Cc, including NUL) or lone surrogates (Cs)."""
    return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cs"))


def clean_text(value: str) -> str:
    """Like :func:`clean_line`, but keeps tabs and line breaks (a customer's message has lines)."""
    return "".join(ch for ch in value if ch in _KEEP_IN_TEXT or unicodedata.category(ch) not in ("Cc", "Cs"))


def _clean_text_fast(value: str) -> str:
    # Nearly every message is clean: skip the per-character pass then (the suggest path is hot).
    return value if value.isprintable() else clean_text(value)


def _clean_line_fast(value: str) -> str:
    return value if value.isprintable() else clean_line(value)


Text = Annotated[str, AfterValidator(_clean_text_fast)]
Query = Annotated[str, StringConstraints(max_length=QUERY_MAX), AfterValidator(_clean_text_fast)]
AgentId = Annotated[str, StringConstraints(max_length=AGENT_ID_MAX), AfterValidator(_clean_line_fast)]
TicketId = Annotated[str, StringConstraints(max_length=TICKET_ID_MAX), AfterValidator(_clean_line_fast)]
Channel = Annotated[str, StringConstraints(max_length=CHANNEL_MAX), AfterValidator(_clean_line_fast)]
Lang = Annotated[str, StringConstraints(max_length=LANG_MAX), AfterValidator(_clean_line_fast)]
