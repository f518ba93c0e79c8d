"""Cleaning of stored text: control characters out, what a message needs kept."""

import pytest

from service.fields import clean_line, clean_text


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
