"""Content gaps: which queries count, and grouping by meaning."""

import numpy as np

from service.usage import gaps
from service.usage.facts import EventFact, Facts, SuggestionFact
from tests.service.usage.test_analytics import at


def test_gap_queries_are_unanswerable_or_shown_and_never_used():
    suggestions = [
        SuggestionFact("s1", at(0), query="退款", answerable=False),
        SuggestionFact("s2", at(0), query="运费"),
        SuggestionFact("s3", at(0), query="发票"),
        SuggestionFact("s4", at(0), query=""),
        SuggestionFact("s5", at(0), query="地址"),
    ]
    events = [
        EventFact("shown", "x", "a", at(0), "s2"),
        EventFact("shown", "x", "a", at(0), "s3"),
        EventFact("copied", "x", "a", at(0), "s3"),
        EventFact("shown", "x", "a", at(0), "s4"),
    ]
    assert gaps.gap_queries(Facts([*events], [], suggestions, {}, {}, {})) == ["退款", "运费"]


def test_find_gaps_groups_close_vectors_largest_first():
    vectors = {"a1": [1, 0, 0], "a2": [0.99, 0.14, 0], "a3": [0.98, 0, 0.2], "b1": [0, 1, 0], "b2": [0, 0.99, 0.14]}

    def embed(texts):
        v = np.array([vectors[t] for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    found = gaps.find_gaps(["a1", "b1", "a2", "b2", "a3"], embed, 0.2, lambda q: f"near-{q}")
    assert [(g.size, g.examples, g.closest_article) for g in found] == [
        (3, ["a1", "a2", "a3"], "near-a1"),
        (2, ["b1", "b2"], "near-b1"),
    ]
    assert gaps.find_gaps([], embed, 0.2, lambda q: None) == []
    assert [g.size for g in gaps.find_gaps(["a1"], embed, 0.2, lambda q: None)] == [1]
