"""What a stored text field may hold: length limits and clean characters, the same on every database.

SQLite stores a VARCHAR of any length and any code point; PostgreSQL rejects a NUL
(``text fields cannot contain NUL``) and an over-long value, and neither driver can
encode a lone surrogate. Left to the database, one such row failed the whole batch it
was inserted with. So every field that is stored is validated at the API edge with the
limits its column declares: a value that is too long is a 422 naming the field (so is
a lone surrogate, which the JSON parser refuses), control characters are removed.

``lang`` is one of the languages articles are written in (``zh``, ``en``); ``channel`` is
checked by the route against the channels the serving build knows, as filters are.

Identifiers (``ticket_id``, agent ids) are references, not text: they must match
:data:`IDENTIFIER` (ASCII letters and digits, then also ``. _ : # / -``; no spaces, no ``@``,
no control characters: nothing is removed from an id), and the route refuses one the PII
masker would change (:func:`refuse_pii`).
Masking an identifier would silently break the link to the ticket or agent; refusing it
tells the client to send an opaque id (``T-13811112222`` is a phone number, not a ticket).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler, StrictInt, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from indexer.article import LANGS
from service.errors import InvalidInput
from service.pii import IDENTIFIER_SEPARATOR, PIIMasker

AGENT_ID_MAX = 64
TICKET_ID_MAX = 128
CHANNEL_MAX = 32
LANG_MAX = 16
QUERY_MAX = 4000
KEY_NAME_MAX = 200
# Row ids and offsets fit PostgreSQL's INTEGER; a larger number in a URL is a 422, not a database error.
ROW_ID_MAX = 2**31 - 1
# Days and months from 1970 to 2999: earlier ones hold no usage, and year 1 or 9999 overflow the datetime
# range once shifted to a time zone. The schema states it as a pattern on the year.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
YEAR_RANGE = r"(19[7-9]\d|2\d{3})"

_KEEP_IN_TEXT = frozenset("\t\n\r")

# Code points that show nothing: controls, format characters (zero-width ones) and private use (Unicode
# categories Cc, Cf, Co) and spaces (Z*) in the Basic Multilingual Plane, as of the Unicode version of
# Python 3.11 (tests/service/test_fields.py recomputes them). Surrogates are left out: JSON cannot carry a lone
# one (the parser refuses it), and a pattern naming them reads differently in JSON Schema validators. Past
# U+FFFF every code point counts as visible (the few hidden ones there are tags and private use): naming them
# made schemathesis' generator ten times slower. A plain list, so the OpenAPI schema states the rule as a
# pattern both JSON Schema and the server read the same way.
INVISIBLE_RANGES = (
    (0x0, 0x20), (0x7F, 0xA0), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x1680, 0x1680), (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F),
    (0x205F, 0x2064), (0x2066, 0x206F), (0x3000, 0x3000), (0xE000, 0xF8FF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
)  # fmt: skip
# What pydantic's strip_whitespace removes (Unicode White_Space; Python's str.strip also removes \x1c-\x1f).
# Spelled out: "\s" reads differently in JSON Schema and in Python.
SPACE_RANGES = (
    (0x9, 0xD), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
    (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)  # fmt: skip


def _char(cp: int) -> str:
    return f"\\u{cp:04x}"


def _none_of(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    """One character outside ``ranges`` (BMP code points, as \\u escapes both dialects read alike)."""
    return re.compile("[^" + "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges) + "]")


# One visible character anywhere: the rule for a customer's message.
VISIBLE = _none_of(INVISIBLE_RANGES)
# One character strip_whitespace keeps.
NOT_SPACE = _none_of(SPACE_RANGES)
_CONTROL_RANGES = ((0x0, 0x1F), (0x7F, 0x9F))
# One character that is neither a space nor a control character: the rule for a field that must not be
# blank once cleaned (control characters removed) and stripped.
NOT_BLANK_CHAR = _none_of(tuple(sorted(SPACE_RANGES + _CONTROL_RANGES)))
CONTROL = re.compile("[\\u0000-\\u001f\\u007f-\\u009f]")

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


@dataclass(frozen=True, slots=True)
class Documented:
    """Adds to a field's JSON schema what its validator enforces, so the OpenAPI schema states it too.

    The validators keep their own messages (a pydantic ``pattern`` would answer "String should
    match pattern ..."); tests/service/test_fuzz.py checks that schema and server agree. The
    keywords are kept as JSON text: annotations must be hashable.
    """

    keywords: str

    @classmethod
    def of(cls, **keywords: Any) -> Documented:
        """The JSON Schema ``keywords`` to add, e.g. ``Documented.of(pattern="^a")``."""
        return cls(json.dumps(keywords, sort_keys=True))

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(json.loads(self.keywords))
        return schema


def _identifier(value: str) -> str:
    problem = identifier_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _lang(value: str) -> str:
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


def _visible(value: str) -> str:
    if not VISIBLE.search(value):
        raise ValueError("must contain a visible character (not only spaces, controls or zero-width ones)")
    return value


# A customer's message: control characters are removed, and something must be left to search.
Query = Annotated[
    str,
    StringConstraints(max_length=QUERY_MAX),
    AfterValidator(_clean_text_fast),
    AfterValidator(_visible),
    Documented.of(pattern=VISIBLE.pattern),
]


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A count or a number of points: JSON Schema's "integer" includes 32.0 (it equals 32), so that is taken; a
# string ("32"), a boolean and 32.5 are not. Bounds on an optional one go inside, before WHOLE:
# ``Annotated[StrictInt, Field(ge=1, le=9), WHOLE] | None`` (on the field they reach the schema as "ge"/"le").
WHOLE = BeforeValidator(_whole)
WholeNumber = Annotated[StrictInt, WHOLE]
# A day in [FIRST_DAY, LAST_DAY] (a query's since/until).
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY), Documented.of(pattern=f"^{YEAR_RANGE}-")]
# A number that must not be 0 (its validator is the route's; this states it in the schema).
NOT_ZERO = Documented.of(**{"not": {"const": 0}})


def _non_blank(clean: Callable[[str], str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = clean(value).strip()
        if not value:
            raise ValueError("must contain a character other than spaces and control characters")
        return value

    return check


def _no_control(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# Markers for free text that is stored (PostgreSQL refuses a NUL, so none may reach it): the validator
# removes control characters (CLEAN_LINE; CLEAN_TEXT keeps tabs and line breaks). NON_BLANK_LINE and
# NON_BLANK_TEXT do the same, strip, and refuse what is left empty; NOT_BLANK states that in the schema:
# one character neither a space nor a control one. A key (NO_CONTROL) is refused rather than cleaned:
# two different keys must not become one.
CLEAN_LINE = AfterValidator(_clean_line_fast)
CLEAN_TEXT = AfterValidator(_clean_text_fast)
NON_BLANK_LINE = AfterValidator(_non_blank(_clean_line_fast))
NON_BLANK_TEXT = AfterValidator(_non_blank(clean_text))
NOT_BLANK = Documented.of(pattern=NOT_BLANK_CHAR.pattern)
NO_CONTROL = AfterValidator(_no_control)
NO_CONTROL_SCHEMA = Documented.of(pattern="^[^" + CONTROL.pattern[1:-1] + "]*$")
_IDENTIFIER_SCHEMA = Documented.of(pattern=f"^{IDENTIFIER.pattern}$")
AgentId = Annotated[str, StringConstraints(max_length=AGENT_ID_MAX), AfterValidator(_identifier), _IDENTIFIER_SCHEMA]
# A key's agent id as stored: keys made before identifiers were checked may hold any clean line.
KeyAgentId = Annotated[str, StringConstraints(max_length=AGENT_ID_MAX), AfterValidator(_clean_line_fast)]
TicketId = Annotated[str, StringConstraints(max_length=TICKET_ID_MAX), AfterValidator(_identifier), _IDENTIFIER_SCHEMA]
Channel = Annotated[str, StringConstraints(max_length=CHANNEL_MAX), AfterValidator(_clean_line_fast)]
Lang = Annotated[str, StringConstraints(max_length=LANG_MAX), AfterValidator(_lang), Documented.of(enum=list(LANGS))]
