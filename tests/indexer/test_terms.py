"""Chunk term tables: assembled from strings or from an earlier table's rows, they are the same."""

import numpy as np
import pytest

from indexer.terms import EMPTY_DOC, ChunkTerms, TermsBuilder


def test_terms_are_counted_per_chunk_with_ids_in_first_occurrence_order():
    terms = ChunkTerms.from_lists([["b", "a", "b"], [], ["c", "a"]])
    assert terms.vocab == ["b", "a", EMPTY_DOC, "c"]
    assert terms.ids.tolist() == [0, 1, 2, 3, 1] and terms.counts.tolist() == [2, 1, 1, 1, 1]
    assert terms.offsets.tolist() == [0, 2, 3, 5]
    assert [terms.counter(i) for i in range(terms.n_docs)] == [{"b": 2, "a": 1}, {EMPTY_DOC: 1}, {"c": 1, "a": 1}]


def test_rows_of_an_earlier_table_plus_new_tokens_equal_a_table_from_strings():
    old_docs = [["x", "y", "x"], ["gone", "y"], ["z"], ["y", "w"]]
    base = ChunkTerms.from_lists(old_docs)
    builder = TermsBuilder(base)
    builder.add_rows(2, 3)
    builder.add_rows(3, 4)  # z / y w kept, now first (one run of rows)
    builder.add_tokens([["new", "x"], []])
    builder.add_rows(0, 1)  # x y x
    built = builder.finish()
    expected = ChunkTerms.from_lists([["z"], ["y", "w"], ["new", "x"], [], ["x", "y", "x"]])
    assert built.vocab == expected.vocab and "gone" not in built.vocab
    for name in ("ids", "counts", "offsets"):
        np.testing.assert_array_equal(getattr(built, name), getattr(expected, name))


def test_saved_ids_outside_the_vocabulary_are_refused(tmp_path):
    terms = ChunkTerms.from_lists([["a", "b"], ["b"]])
    terms.save(tmp_path)
    assert ChunkTerms.load(tmp_path, terms.vocab).ids.tolist() == terms.ids.tolist()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ChunkTerms.load(tmp_path, ["a"])
    np.save(tmp_path / "term_offsets.npy", np.array([0, 1], np.int64))
    with pytest.raises(ValueError, match="do not cover"):
        ChunkTerms.load(tmp_path, terms.vocab)
