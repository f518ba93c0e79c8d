"""Ranking by the retriever on the tiny KB with the fake embedder (real FAISS and BM25)."""

import numpy as np
import pytest

from indexer.build import BuildOptions, build_index
from indexer.crosslingual import LanguageBridge
from indexer.filters import Filters
from indexer.fusion import FusionParams, lexical_weight
from indexer.search import Retriever, sorted_unique
from indexer.versions import current_build


@pytest.fixture
def retriever(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    return Retriever.load(current_build(root), fake_embedder, fusion=FusionParams(normalize_queries=False))


def _chunk_vectors(retriever, article_id):
    rows = [i for i, c in enumerate(retriever.chunks) if c.article_id == article_id]
    return np.load(retriever.folder / "vectors.npy")[rows]


def test_hybrid_ranks_the_matching_article_first_and_scores_descend(retriever):
    res = retriever.search("退款多久到账", k=3)
    assert res.hits[0].article_id == "refund-arrival"
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True) and len(res.hits) <= 3


def test_dense_score_blends_the_best_chunk_cosine_with_the_chunks_mean(retriever, fake_embedder):
    res = retriever.search("运费险怎么退", k=5, mode="dense")
    q = fake_embedder.embed_queries(["运费险怎么退"])[0]
    best, spread = [], []
    for hit in res.hits:
        cosines = _chunk_vectors(retriever, hit.article_id) @ q
        best.append(float(cosines.max()))
        spread.append(float(cosines.max() - cosines.mean()))
        expected = (cosines.max() + cosines.mean()) / 2
        assert hit.score == pytest.approx(expected, abs=1e-6) and hit.dense_score == hit.score
        assert hit.lexical_score is None
    assert max(spread) > 0.01  # some article has chunks far from its best one
    # The answer probability reads the best chunk's cosine, whatever ranks the articles.
    assert res.top_dense == pytest.approx(max(best))


def test_best_rule_scores_an_article_by_its_best_chunk(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    fusion = FusionParams(normalize_queries=False, article_score="best")
    best_rule = Retriever.load(current_build(root), fake_embedder, fusion=fusion)
    q = fake_embedder.embed_queries(["运费险怎么退"])[0]
    for hit in best_rule.search("运费险怎么退", k=5, mode="dense").hits:
        assert hit.score == pytest.approx(float((_chunk_vectors(best_rule, hit.article_id) @ q).max()), abs=1e-6)


def test_lexical_mode_returns_only_articles_sharing_a_term(retriever):
    res = retriever.search("cancel order", k=5, mode="lexical")
    assert [h.article_id for h in res.hits] == ["en-order-cancel"]
    assert res.hits[0].score == res.hits[0].lexical_score == res.top_lexical > 0
    assert res.hits[0].dense_score is None and res.signals is None
    assert retriever.search("zzzqqq", mode="lexical").hits == []


def test_hybrid_score_is_dense_plus_the_weighted_scaled_bm25(retriever):
    query = "退货运费怎么退"
    res = retriever.search(query, k=5)
    dense = np.array([h.dense_score for h in res.hits], np.float32)
    lang = np.array([h.meta["lang"] == res.lang for h in res.hits])
    # every published public article is a candidate in this KB, so the hits are all the articles fused
    weight = lexical_weight(dense, lang, res.lang, retriever.fusion)
    for hit in res.hits:
        assert hit.score == pytest.approx(hit.dense_score + weight * hit.lexical_score / res.top_lexical, abs=1e-6)


def test_internal_articles_and_filters_apply_before_the_cut(retriever):
    assert "internal-soothing" not in [h.article_id for h in retriever.search("客户情绪激动", k=5).hits]
    inside = retriever.search("客户情绪激动", k=5, include_internal=True).hits
    assert inside[0].article_id == "internal-soothing"
    only_orders = retriever.search("退款多久到账", k=5, filters=Filters.of(category=["orders"])).hits
    assert [h.article_id for h in only_orders] == ["en-order-cancel"]
    nothing = retriever.search("退款", k=5, filters=Filters.of(category=["none"]))
    assert nothing.hits == [] and not nothing.answerable


def test_snippet_comes_from_the_best_chunk_with_the_query_terms_marked(retriever):
    hit = retriever.search("退款多久到账", k=1).hits[0]
    assert hit.chunk.article_id == hit.article_id
    assert hit.highlights and all(hit.snippet[a:b] for a, b in hit.highlights)
    marked = {hit.snippet[a:b] for a, b in hit.highlights}
    assert marked & {"退款", "到账", "多久"}


def test_query_vector_given_by_the_caller_gives_the_same_ranking(retriever, fake_embedder):
    qv = fake_embedder.embed_queries(["退款多久到账"])[0]
    given = retriever.search("退款多久到账", query_vector=qv)
    computed = retriever.search("退款多久到账")
    assert [(h.article_id, h.score) for h in given.hits] == [(h.article_id, h.score) for h in computed.hits]


def test_title_weight_adds_the_title_coverage_to_the_hybrid_score(retriever, fake_embedder):
    query = "退款多久到账"
    titled = Retriever.load(
        retriever.folder, fake_embedder, fusion=FusionParams(normalize_queries=False, title_weight=0.5)
    )
    # Chinese articles only: the language gate is open (it would hold titles back like BM25 otherwise).
    refunds = Filters.of(category=["refunds"])
    plain = {h.article_id: h.score for h in retriever.search(query, k=10, filters=refunds).hits}
    with_titles = {h.article_id: h.score for h in titled.search(query, k=10, filters=refunds).hits}
    index = {a: i for i, a in enumerate(retriever.articles)}
    terms = retriever.analyzer.tokens(query)
    added = []
    for article, score in with_titles.items():
        coverage = float(titled.titles.coverage(terms, np.array([index[article]], np.int64))[0])
        assert score - plain[article] == pytest.approx(0.5 * coverage, abs=1e-6)
        added.append(coverage)
    assert max(added) > 0


def test_twin_lexical_gives_an_other_language_twin_its_counterparts_bm25(retriever, fake_embedder):
    query = "退款多久到账"
    index = {a: i for i, a in enumerate(retriever.articles)}
    langs = np.array([str(retriever.articles[a].get("lang")) for a in retriever.articles])
    twins = np.full(len(index), -1, np.int64)
    # A hand-made pairing (the fake embedder has no multilingual part to find one).
    twins[index["en-order-cancel"]], twins[index["refund-arrival"]] = index["refund-arrival"], index["en-order-cancel"]
    bridge = LanguageBridge(np.zeros(len(index), np.bool_), langs, twins=twins)
    scores = {}
    for on in (False, True):
        fusion = FusionParams(normalize_queries=False, twin_lexical=on)
        r = Retriever.load(retriever.folder, fake_embedder, fusion=fusion)
        r._bridge = bridge
        res = r.search(query, k=10, include_internal=True)
        scores[on] = {h.article_id: (h.score, h.dense_score, h.lexical_score) for h in res.hits}
    english_off, english_on = scores[False]["en-order-cancel"], scores[True]["en-order-cancel"]
    assert english_off[2] == english_on[2] == 0.0  # its own BM25, as shown, is none either way
    assert english_off[0] == pytest.approx(english_off[1])  # without the twin: no BM25 in its score
    # With it, the English article gains what refund-arrival gains from BM25: the same score.
    chinese_on = scores[True]["refund-arrival"]
    assert english_on[0] - english_on[1] == pytest.approx(chinese_on[0] - chinese_on[1], abs=1e-6)
    assert english_on[0] > english_on[1]


def test_dense_candidates_found_together_give_each_search_its_own_result(retriever, fake_embedder):
    queries = ["退款多久到账", "运费险怎么退", "发票怎么开", "退款多久到账"]
    in_stock = Filters.of(category=["refunds"])
    options = [(5, None, False), (3, None, False), (5, in_stock, False), (5, None, True)]
    batch = [
        (q, fake_embedder.embed_queries([q])[0], {"k": k, "filters": filters, "include_internal": internal})
        for q, (k, filters, internal) in zip(queries, options, strict=True)
    ]
    batch.append(("退款", fake_embedder.embed_queries(["退款"])[0], {}))  # search's own defaults
    found = retriever.dense_candidates(batch)
    for (query, vector, given), ids in zip(batch, found, strict=True):
        assert ids is not None
        alone = retriever.search(query, query_vector=vector, **given)
        together = retriever.search(query, query_vector=vector, dense_found=ids, **given)
        assert [(h.article_id, h.score) for h in together.hits] == [(h.article_id, h.score) for h in alone.hits]
        assert together.answerable == alone.answerable and together.confidence == alone.confidence


def test_dense_candidates_are_none_where_the_filters_allow_nothing(retriever, fake_embedder):
    vector = fake_embedder.embed_queries(["退款"])[0]
    nothing = {"filters": Filters.of(category=["no such category"])}
    assert retriever.dense_candidates([("退款", vector, nothing)]) == [None]


def test_search_takes_the_dense_candidates_it_is_given(retriever, fake_embedder):
    vector = fake_embedder.embed_queries(["退款多久到账"])[0]
    one = retriever.chunks[0].article_id
    res = retriever.search("退款多久到账", mode="dense", query_vector=vector, dense_found=np.array([0, -1], np.int64))
    assert [h.article_id for h in res.hits] == [one]


@pytest.mark.parametrize("ids", [[], [3], [5, 5, 5], [9, 1, 4, 1, 9, 0, 2, 2]])
def test_sorted_unique_is_numpys_unique(ids):
    got = sorted_unique(np.array(ids, np.int64))
    assert got.dtype == np.int64 and got.tolist() == np.unique(np.array(ids, np.int64)).tolist()
