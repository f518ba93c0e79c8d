"""Filter values are checked against the build's taxonomy, or its articles' values without one."""

import pytest

from indexer.build import BuildOptions, build_index
from indexer.search import Retriever
from indexer.versions import current_build
from service.errors import InvalidInput
from service.suggestions.filters import check_filters, known_values
from service.suggestions.schemas import SuggestFilters
from tests.conftest import FakeEmbedder


def test_build_carries_its_taxonomy(shared_index):
    retriever = Retriever.load(current_build(shared_index), FakeEmbedder())
    assert "laptop" in known_values(retriever)["product"]  # in the taxonomy, on no article
    check_filters(retriever, SuggestFilters(product=["laptop"], tags=["anything"]))


def test_without_a_taxonomy_the_articles_values_are_allowed(kb_dir, tmp_path):
    (kb_dir / "_taxonomy.yaml").unlink()
    build_index(kb_dir, tmp_path / "index", FakeEmbedder(), BuildOptions(chunk_size=120))
    retriever = Retriever.load(current_build(tmp_path / "index"), FakeEmbedder())
    assert known_values(retriever)["category"] == {"orders", "refunds", "agent-playbook"}
    with pytest.raises(InvalidInput) as caught:
        check_filters(retriever, SuggestFilters(category=["returns"], channel=["chat"]))
    assert [d["field"] for d in caught.value.details] == ["filters.category"]
