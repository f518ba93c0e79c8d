"""Query normalisation: pinyin, homophone typos and English spelling rewritten into KB words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.analyzer import Analyzer
from indexer.build import BuildOptions, build_index
from indexer.fusion import FusionParams
from indexer.normalize import QueryNormalizer
from indexer.search import Retriever
from indexer.versions import current_build

# Chinese KB terms with the number of chunks each occurs in; single characters as the analyzer's unigrams.
CHINESE = {
    "退款": 40,
    "进度": 12,
    "怎么": 30,
    "查": 9,
    "多久": 8,
    "到账": 10,
    "取消": 11,
    "订单": 35,
    "物流": 20,
    "维修": 15,
    "延误": 6,
    "清关": 5,
    "优惠券": 7,
    "星币": 9,
    "采用": 6,
    "一周": 3,
    "退": 60,
    "款": 41,
    "进": 13,
    "度": 12,
    "维": 15,
    "修": 16,
    "延": 6,
    "误": 6,
    "清": 5,
    "关": 9,
    "才": 30,
    "采": 6,
    "用": 50,
    "秀": 0,
    "演": 1,
}
ENGLISH = {
    "refund": 30,
    "status": 12,
    "check": 9,
    "address": 8,
    "change": 7,
    "do": 40,
    "you": 50,
    "sell": 1,
    "smartwatches": 3,
    "export": 2,
}


@pytest.fixture(scope="module")
def normalizer() -> QueryNormalizer:
    analyzer = Analyzer()
    return QueryNormalizer(CHINESE, ENGLISH, {"jf": "星币", "星币": "星币"}, analyzer.words, analyzer.is_word)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tk多久到账", "退款多久到账"),  # initials of one word
        ("qxdd了还能退款吗", "取消订单了还能退款吗"),  # initials of two words
        ("tuikuan jindu zenme cha", "退款进度怎么查"),  # a message in pinyin only
        ("jf还有吗", "星币还有吗"),  # the editors' synonym wins over a guess
        ("维秀进度", "维修进度"),  # pinyin-IME homophone of a KB word
        ("清关演误了", "清关延误了"),
        ("refnud status chek", "refund status check"),  # English spelling
    ],
)
def test_normalize_rewrites_into_kb_words(normalizer, query, expected):
    assert normalizer.normalize(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "Do you sell scooters?",  # English, not pinyin, although "you" is a syllable
        "review写错了能edit吗",  # English words inside Chinese stay English
        "欧洲站的价格含不含VAT",  # upper case: an acronym
        "邮箱zhangwei88@example.com退款",  # part of an e-mail address
        "手机才用一周就坏了",  # 才用 reads as 采用, but 才 is the commoner character
        "退款进度怎么查",  # nothing to do
        "my smartwatch broke",  # the singular of a KB word, not a typo
        "do you sponsor esports",  # two edits from "export" is too far for a 7-letter word
    ],
)
def test_normalize_leaves_proper_text_alone(normalizer, query):
    assert normalizer.normalize(query) == query


def test_normalize_is_idempotent(normalizer):
    once = normalizer.normalize("tk jindu 维秀")
    assert normalizer.normalize(once) == once


def test_retriever_searches_the_normalized_query(kb_dir: Path, tmp_path: Path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    r = Retriever.load(current_build(root), fake_embedder)
    res = r.search("tk多久到账", k=3, include_internal=True)
    assert res.normalized == "退款多久到账"
    assert "退款" in res.terms
    assert res.hits[0].article_id == "refund-arrival"
    off = Retriever.load(current_build(root), fake_embedder, fusion=FusionParams(normalize_queries=False))
    assert off.search("tk多久到账", k=3).normalized == "tk多久到账"


def test_ambiguous_abbreviation_follows_the_rest_of_the_message():
    """``sj`` spells 时间 (commonest), 手机 and 数据; the context decides, and without one the count does."""
    chinese = {"时间": 50, "手机": 20, "数据": 10, "迁移": 4, "多久": 8}
    chunks = {"时间": [0, 1, 2, 3, 4], "手机": [5, 6, 7], "数据": [6, 7, 8], "迁移": [6, 7], "多久": [0, 1]}
    analyzer = Analyzer()
    normalizer = QueryNormalizer(
        chinese, {}, {}, analyzer.words, analyzer.is_word, lambda term: np.array(chunks.get(term, []), dtype=np.int64)
    )
    assert normalizer.normalize("sj数据迁移") == "手机数据迁移"
    assert normalizer.normalize("sj多久") == "时间多久"
    assert normalizer.normalize("sj") == "时间"
