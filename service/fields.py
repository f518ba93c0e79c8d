"""What a stored text field may hold: length limits and clean characters, the same on every database.

SQLite stores a VARCHAR of any length and any code point; PostgreSQL rejects a NUL
(``text fields cannot contain NUL``) and an over-long value, and neither driver can
encode a lone surrogate. Left to the database, one such row failed the whole batch it
was inserted with. So every field that is stored is validated at the API edge with the
limits its column declares: a value that is too long is a 422 naming the field (so is
a lone surrogate, which the JSON parser refuses), control characters are removed.

``lang`` is one of the languages articles are written in (``zh``, ``en``); ``channel`` is
checked by the route against the channels the serving build knows, as filters are.

Identifiers (``ticket_id``, agent ids) are references, not text: after cleaning they must
match :data:`IDENTIFIER` (ASCII letters and digits, then also ``. _ : # / -``; no spaces,
no ``@``), and the route refuses one the PII masker would change (:func:`refuse_pii`).
Masking an identifier would silently break the link to the ticket or agent; refusing it
tells the client to send an opaque id (``T-13811112222`` is a phone number, not a ticket).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from indexer.article import LANGS
from service.errors import InvalidInput
from service.pii import IDENTIFIER_SEPARATOR, PIIMasker

AGENT_ID_MAX = 64
TICKET_ID_MAX = 128
CHANNEL_MAX = 32
LANG_MAX = 16
QUERY_MAX = 4000
KEY_NAME_MAX = 200

_KEEP_IN_TEXT = frozenset("\t\n\r")

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:#/-]*")
IDENTIFIER_RULE = "letters A-Z a-z and digits first, then also . _ : # / - (no spaces, no @)"


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


def identifier_problem(value: str) -> str | None:
    """Why ``value`` is not an identifier (see :data:`IDENTIFIER`), or None if it is one."""
    return None if IDENTIFIER.fullmatch(value) else f"must be an identifier: {IDENTIFIER_RULE}"


def _identifier(value: str) -> str:
    value = _clean_line_fast(value)
    problem = identifier_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _lang(value: str) -> str:
    value = _clean_line_fast(value)
    if value not in LANGS:
        raise ValueError(f"must be one of: {', '.join(LANGS)}")
    return value


def refuse_pii(masker: PIIMasker, *, field: str, value: str | None) -> None:
    """Refuse an identifier that holds what the masker reads as personal data.

    Raises:
        InvalidInput: 422 naming ``field`` and the kinds of data found (never the value).
    """
    if not value:
        return
    found = masker.mask(value, separators=IDENTIFIER_SEPARATOR).counts
    if found:
        kinds = ", ".join(sorted(found))
        message = f"looks like personal data ({kinds}); send an opaque id"
        raise InvalidInput(f"{field}: {message}", details=[{"field": field, "message": message, "type": "pii"}])


Text = Annotated[str, AfterValidator(_clean_text_fast)]
Query = Annotated[str, StringConstraints(max_length=QUERY_MAX), AfterValidator(_clean_text_fast)]
AgentId = Annotated[str, StringConstraints(max_length=AGENT_ID_MAX), AfterValidator(_identifier)]
# A key's agent id as stored: keys made before identifiers were checked may hold any clean line.
KeyAgentId = Annotated[str, StringConstraints(max_length=AGENT_ID_MAX), AfterValidator(_clean_line_fast)]
TicketId = Annotated[str, StringConstraints(max_length=TICKET_ID_MAX), AfterValidator(_identifier)]
Channel = Annotated[str, StringConstraints(max_length=CHANNEL_MAX), AfterValidator(_clean_line_fast)]
Lang = Annotated[str, StringConstraints(max_length=LANG_MAX), AfterValidator(_lang)]
