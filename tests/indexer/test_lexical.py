"""BM25 built from term ids: the matrix bm25s builds, and what a rebuild reads back."""

import random
from collections import Counter

import bm25s
import numpy as np
import pytest

import indexer.lexical as lexical_mod
from indexer.lexical import LexicalIndex
from indexer.terms import ChunkTerms


def _corpus(seed: int, n_docs: int) -> list[list[str]]:
    rnd = random.Random(seed)
    words = ["退款", "#退款", "@退"] + [f"w{i}" for i in range(400)]
    # Skewed term frequencies and document lengths, empty documents included.
    return [[rnd.choice(words[: rnd.randint(1, len(words))]) for _ in range(rnd.randint(0, 90))] for _ in range(n_docs)]


def _id_counts(terms: ChunkTerms, doc: int) -> list[tuple[int, int]]:
    lo, hi = terms.offsets[doc], terms.offsets[doc + 1]
    return list(zip(terms.ids[lo:hi].tolist(), terms.counts[lo:hi].tolist(), strict=True))


def _wide_corpus(seed: int) -> list[list[str]]:
    """Over 65,536 distinct terms (past the 16-bit radix sort)."""
    rnd = random.Random(seed)
    return [[f"t{rnd.randrange(300_000)}" for _ in range(rnd.randint(1, 80))] for _ in range(2500)]


@pytest.mark.parametrize(
    ("corpus", "block"), [(_corpus(1, 1500), 1 << 20), (_corpus(2, 1500), 97), (_wide_corpus(3), 5000)]
)
def test_matrix_is_the_one_bm25s_builds_bit_for_bit(corpus, block, monkeypatch):
    monkeypatch.setattr(lexical_mod, "_BLOCK", block)  # small blocks split the scoring
    docs = corpus
    ours = LexicalIndex.build(docs)
    terms = ChunkTerms.from_lists(docs)
    ids = [[t for t, c in _id_counts(terms, i) for _ in range(c)] for i in range(terms.n_docs)]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index((ids, {t: i for i, t in enumerate(terms.vocab)}), show_progress=False)
    assert len(terms.vocab) > 1 << 16 or block != 5000
    for key in ("data", "indices", "indptr"):
        assert ours._bm25.scores[key].dtype == reference.scores[key].dtype
        np.testing.assert_array_equal(ours._bm25.scores[key], reference.scores[key])


def test_scores_equal_bm25s_indexing_the_strings():
    docs = _corpus(4, 800)
    ours = LexicalIndex.build(docs)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([d or ["\u2205"] for d in docs], show_progress=False)
    for query in (["w1", "w7", "w1"], ["退款", "@退", "unknown"], ["w0", "w2"]):
        known = [t for t in query if t in reference.vocab_dict]
        np.testing.assert_array_equal(ours.scores(query), np.asarray(reference.get_scores(known), np.float32))


def test_saved_index_keeps_its_terms_for_a_rebuild(tmp_path):
    docs = _corpus(5, 200)
    LexicalIndex.build(docs).save(tmp_path)
    terms = LexicalIndex.read_terms(tmp_path)
    assert [terms.counter(i) for i in range(terms.n_docs)] == [Counter(d or ["\u2205"]) for d in docs]
    loaded = LexicalIndex.load(tmp_path, len(docs))
    np.testing.assert_array_equal(loaded.scores(["w3", "w9"]), LexicalIndex.build(docs).scores(["w3", "w9"]))


def test_index_saved_without_terms_says_so(tmp_path):
    bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    bm25.index([["a", "b"], ["b"]], show_progress=False)
    bm25.save(str(tmp_path), show_progress=False)
    with pytest.raises(FileNotFoundError):
        LexicalIndex.read_terms(tmp_path)
