"""Snippets and highlight spans."""

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
