"""Snippets and highlight spans."""

import random
import re

from indexer.snippet import highlight_spans, make_snippet


def test_highlight_spans_prefer_longer_terms_and_ignore_case_and_single_letters():
    assert highlight_spans("Refund 退款到账 a", ["refund", "退款", "退款到账", "a"]) == [(0, 6), (7, 11)]


def test_short_text_is_returned_whole_with_spaces_collapsed():
    text, spans = make_snippet("退款  多久\n到账", ["到账"], size=50)
    assert text == "退款 多久 到账" and spans == [(6, 8)]


def test_long_text_is_cut_around_the_first_term_with_ellipses():
    body = "前" * 100 + "退款" + "后" * 100
    text, spans = make_snippet(body, ["退款"], size=40)
    assert text.startswith("…") and text.endswith("…") and len(text) == 42
    ((start, end),) = spans
    assert text[start:end] == "退款" and start == 1 + 10  # a quarter of the window before the term


def _regex_spans(text, terms):
    words = sorted({t for t in terms if t and len(t) > 1 or (t and not t.isascii())}, key=len, reverse=True)
    if not words:
        return []
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def test_highlight_spans_find_what_the_case_insensitive_alternation_finds():
    rng = random.Random(7)
    alphabet = "abAB退款到账 12Kkſı"  # Kelvin sign, long s and dotless i fold onto ASCII letters
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        terms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(0, 4))]
        assert highlight_spans(text, terms) == _regex_spans(text, terms), (text, terms)


def test_a_non_ascii_term_matching_ascii_text_only_by_case_folding_is_marked():
    assert highlight_spans("PIN", ["pın"]) == [(0, 3)]
    assert highlight_spans("kit 退款", ["Kit"]) == [(0, 3)]
