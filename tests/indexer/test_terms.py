"""Chunk term tables: assembled from strings or from an earlier table's rows, they are the same."""

import numpy as np
import pytest

from indexer.terms import EMPTY_DOC, ChunkTerms, TermsBuilder


def test_ids_follow_first_occurrence_and_empty_chunks_get_the_placeholder():
    terms = ChunkTerms.from_lists([["b", "a", "b"], [], ["c", "a"]])
    assert terms.vocab == ["b", "a", EMPTY_DOC, "c"]
    assert terms.ids.tolist() == [0, 1, 0, 2, 3, 1] and terms.offsets.tolist() == [0, 3, 4, 6]
    assert [terms.tokens(i) for i in range(terms.n_docs)] == [["b", "a", "b"], [EMPTY_DOC], ["c", "a"]]


def test_rows_of_an_earlier_table_plus_new_tokens_equal_a_table_from_strings():
    old_docs = [["x", "y"], ["gone", "y"], ["z"], ["y", "w"]]
    base = ChunkTerms.from_lists(old_docs)
    builder = TermsBuilder(base)
    builder.add_rows(2, 4)  # z / y w kept, now first
    builder.add_tokens([["new", "x"], []])
    builder.add_rows(0, 1)  # x y
    built = builder.finish()
    expected = ChunkTerms.from_lists([["z"], ["y", "w"], ["new", "x"], [], ["x", "y"]])
    assert built.vocab == expected.vocab and "gone" not in built.vocab
    np.testing.assert_array_equal(built.ids, expected.ids)
    np.testing.assert_array_equal(built.offsets, expected.offsets)


def test_saved_ids_outside_the_vocabulary_are_refused(tmp_path):
    terms = ChunkTerms.from_lists([["a", "b"], ["b"]])
    terms.save(tmp_path)
    assert ChunkTerms.load(tmp_path, terms.vocab).ids.tolist() == terms.ids.tolist()
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ChunkTerms.load(tmp_path, ["a"])
    np.save(tmp_path / "term_offsets.npy", np.array([0, 1], np.int64))
    with pytest.raises(ValueError, match="do not cover"):
        ChunkTerms.load(tmp_path, terms.vocab)
