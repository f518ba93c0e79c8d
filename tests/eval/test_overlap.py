"""Near-copies of titles (eval/overlap.py): bigrams, overlap and the near-copy rule, computed by hand."""

import pytest

from eval.data import Query
from eval.overlap import article_titles, bigrams, near_copies, title_overlap
from tests.conftest import KB_MINI


def test_bigrams_fold_width_and_case_and_stay_inside_runs():
    # full-width "ＡＢ" folds to "ab"; the space and "？" split runs, so no bigram spans them
    assert bigrams("退款？ＡＢ c") == {"退款", "ab"}
    assert bigrams("a") == frozenset()


def test_title_overlap_is_the_share_of_the_query_bigrams_in_the_best_title():
    # 退款多久到账: 退款 款多 多久 久到 到账; "退款到账时间" holds 退款 and 到账 -> 2/5
    assert title_overlap("退款多久到账", ["退款到账时间"]) == pytest.approx(2 / 5)
    assert title_overlap("退款多久到账", ["运费险", "退款多久到账？"]) == pytest.approx(1.0)
    assert title_overlap("退款多久到账", []) == 0.0
    assert title_overlap("?", ["?"]) == 0.0


def test_near_copies_reach_the_threshold_and_skip_no_answer_queries():
    titles = {"refund": "退款多久到账？各支付方式到账时间", "fee": "运费险怎么理赔"}
    copy = Query("q1", "退款多久能到账", ("refund",), "zh")  # 6 bigrams, 4 in the title: 0.67
    half = Query("q2", "运费险咋赔", ("fee", "gone"), "zh")  # 运费 费险 险咋 咋赔: 2/4, exactly the bound
    own = Query("q3", "昨天退的钱微信里还没看到", ("refund",), "zh")
    none = Query("q4", "退款多久到账", (), "zh")
    assert [q.query_id for q in near_copies([copy, half, own, none], titles)] == ["q1", "q2"]
    assert [q.query_id for q in near_copies([copy, half], titles, threshold=0.6)] == ["q1"]


def test_article_titles_reads_every_article_of_a_content_folder():
    titles = article_titles(KB_MINI)
    assert titles["refund-arrival"] == "退款多久到账"
    assert titles["draft-note"] == "草稿：新品预售规则"
