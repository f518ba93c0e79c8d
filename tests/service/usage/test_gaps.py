"""Content gaps: grouping by meaning (which queries count is tested on the databases in test_commands)."""

import numpy as np

from service.usage import gaps


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
