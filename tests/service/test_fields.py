"""Cleaning of stored text: control characters out, what a message needs kept; the rules the schema states."""

import unicodedata
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from service.errors import InvalidInput
from service.fields import (
    IDENTIFIER,
    INVISIBLE_RANGES,
    NOT_SPACE,
    SPACE_RANGES,
    VISIBLE,
    Lang,
    Query,
    TicketId,
    WholeNumber,
    clean_line,
    clean_text,
    identifier_problem,
    refuse_pii,
)
from service.pii import PIIMasker


@pytest.mark.parametrize(
    ("raw", "line", "text"),
    [
        ("退款\x00", "退款", "退款"),
        ("a\tb\r\nc", "abc", "a\tb\r\nc"),
        ("\x1b[31mred\x7f\x85", "[31mred", "[31mred"),
        ("lone \ud800 surrogate", "lone  surrogate", "lone  surrogate"),
        ("全角　空格 and emoji 👍🏽", "全角　空格 and emoji 👍🏽", "全角　空格 and emoji 👍🏽"),
    ],
)
def test_clean_removes_control_characters_only(raw, line, text):
    assert clean_line(raw) == line
    assert clean_text(raw) == text


@pytest.mark.parametrize("value", ["T-1", "a.b_c:d#e/f-g", "0", "A" * 64])
def test_identifiers_match_the_documented_pattern(value):
    assert identifier_problem(value) is None


@pytest.mark.parametrize("value", ["", "a 1", "lisi@example.com", "-a", "工单1", "ｔ-1", "a\tb"])
def test_other_values_are_not_identifiers(value):
    assert identifier_problem(value) is not None


@pytest.mark.parametrize(("value", "kind"), [("T-13811112222", "PHONE"), ("ID-110105199003071239", "ID")])
def test_an_identifier_reading_as_pii_is_refused_without_quoting_it(value, kind):
    with pytest.raises(InvalidInput) as caught:
        refuse_pii(PIIMasker(), field="ticket_id", value=value)
    [detail] = caught.value.details
    assert (detail["field"], detail["type"]) == ("ticket_id", "pii")
    assert kind in caught.value.message and value not in caught.value.message


@pytest.mark.parametrize("value", ["T-2026/12:02#0001", "T-20261202-000109", "ZD-4000-1234-5678-9012"])
def test_an_opaque_identifier_passes_the_masker(value):
    # Dash-separated dates and sequence numbers are never joined into one number: joined,
    # T-20261202-000109 would pass Luhn and read as a bank card.
    refuse_pii(PIIMasker(), field="ticket_id", value=value)


def _ranges(hidden) -> tuple[tuple[int, int], ...]:
    found, start = [], None
    for cp in range(0x10000 + 1):
        inside = cp <= 0xFFFF and hidden(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            found.append((start, cp - 1))
            start = None
    return tuple(found)


def test_invisible_ranges_are_this_pythons_controls_format_private_use_and_spaces_in_the_bmp():
    assert INVISIBLE_RANGES == _ranges(lambda ch: unicodedata.category(ch) in ("Cc", "Cf", "Co", "Zs", "Zl", "Zp"))


def test_space_ranges_are_what_strip_whitespace_removes():
    stripped = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True)])
    assert SPACE_RANGES == _ranges(lambda ch: not 0xD800 <= ord(ch) <= 0xDFFF and stripped.validate_python(ch) == "")


@pytest.mark.parametrize(
    ("value", "visible"),
    [
        ("退款", True),
        ("a", True),
        (" \t\n\u3000\u200b\ufeff\x00\x85", False),
        ("\ue000", False),
        ("👍", True),
        ("\U000e0001", True),  # past U+FFFF every code point counts as visible
    ],
)
def test_visible_is_one_shown_character(value, visible):
    assert bool(VISIBLE.search(value)) is visible


@pytest.mark.parametrize(("value", "kept"), [(" a ", True), ("\x1c", True), (" \t\u3000\xa0\x85", False)])
def test_not_space_is_one_character_strip_whitespace_keeps(value, kept):
    assert bool(NOT_SPACE.search(value)) is kept


@pytest.mark.parametrize("value", ["\x00T-1", "T-1\n", "T-1\x7f"])
def test_an_identifier_with_a_control_character_is_refused_not_cleaned(value):
    assert identifier_problem(value) is not None
    with pytest.raises(ValidationError):
        TypeAdapter(TicketId).validate_python(value)


@pytest.mark.parametrize(("value", "expected"), [(32, 32), (32.0, 32), (-1.0, -1)])
def test_a_whole_number_takes_an_integral_float(value, expected):
    assert TypeAdapter(WholeNumber).validate_python(value) == expected


@pytest.mark.parametrize("value", ["32", True, 32.5, float("inf"), float("nan")])
def test_a_whole_number_refuses_strings_booleans_and_fractions(value):
    with pytest.raises(ValidationError):
        TypeAdapter(WholeNumber).validate_python(value)


def test_documented_rules_are_in_the_json_schema():
    assert TypeAdapter(TicketId).json_schema()["pattern"] == f"^{IDENTIFIER.pattern}$"
    assert TypeAdapter(Lang).json_schema()["enum"] == ["zh", "en"]
    assert TypeAdapter(Query).json_schema()["pattern"] == VISIBLE.pattern
