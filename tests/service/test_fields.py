"""Cleaning of stored text: control characters out, what a message needs kept."""

import pytest

from service.errors import InvalidInput
from service.fields import clean_line, clean_text, identifier_problem, refuse_pii
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
