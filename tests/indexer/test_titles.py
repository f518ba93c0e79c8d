"""Title and tag coverage: the IDF share of an article's title terms that the query names."""

import math

import numpy as np
import pytest

from indexer.titles import TitleIndex, title_text


def _tokens(text: str) -> list[str]:
    return text.lower().split()


def test_coverage_is_the_idf_share_of_the_title_terms_the_query_names():
    index = TitleIndex(["refund time", "refund card", "order cancel"], _tokens)
    idf_refund, idf_rare = math.log(1 + 3 / 2), math.log(1 + 3 / 1)
    got = index.coverage(["refund", "time", "refund", "other"], np.array([0, 1, 2], np.int64))
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(idf_refund / (idf_refund + idf_rare))
    assert got[2] == 0.0


def test_an_article_without_title_or_tags_has_no_coverage():
    index = TitleIndex(["", "refund"], _tokens)
    np.testing.assert_array_equal(index.coverage(["refund"], np.array([0, 1], np.int64)), [0.0, 1.0])


def test_title_text_joins_the_title_and_the_tags():
    assert title_text({"title": "Refund time", "tags": ["refund", "bank card"]}) == "Refund time refund bank card"
    assert title_text({"id": "x"}) == ""
