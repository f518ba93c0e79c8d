"""Dataset loading, id repair, sampling and leave-out variants."""

import json

import pytest

from eval import datasets
from eval.data import Query
from indexer.errors import ContentError
from tests.eval.conftest import EVAL_MINI


def test_load_dataset_adds_oos_queries_and_fixes_invalid_ids(tmp_path):
    ds = datasets.load_dataset(EVAL_MINI, tmp_path)
    assert len(ds.queries) == 9
    assert [q.query_id for q in ds.queries if q.query_id.startswith("oos")] == ["oos1", "oos2"]
    assert ds.articles.parent.parent == tmp_path / "sources"
    ids = [json.loads(line)["id"] for line in ds.articles.read_text(encoding="utf-8").splitlines()]
    assert "card_payment_" in ids and "card_payment?" not in ids
    assert ds.queries[5].relevant_ids == ("card_payment_",)


def test_load_dataset_uses_the_file_itself_when_ids_are_valid(tmp_path):
    folder = tmp_path / "ok"
    folder.mkdir()
    (folder / "articles.jsonl").write_text('{"id": "a", "title": "", "body": "x", "lang": "en"}\n', encoding="utf-8")
    (folder / "queries.jsonl").write_text('{"query": "x", "relevant_ids": ["a"], "lang": "en"}\n', encoding="utf-8")
    ds = datasets.load_dataset(folder, tmp_path / "work")
    assert ds.articles == folder / "articles.jsonl" and ds.name == "ok"


def test_sample_caps_each_group_and_is_seeded(tmp_path):
    queries = datasets.load_dataset(EVAL_MINI, tmp_path).queries
    picked = datasets.sample(queries, 2, seed=7)
    assert sum(q.answerable for q in picked) == 2 and sum(not q.answerable for q in picked) == 2
    assert picked == datasets.sample(queries, 2, seed=7)
    assert datasets.sample(queries, None, seed=7) == queries
    assert datasets.sample(queries, 100, seed=7) == queries


def test_load_dataset_moves_the_title_of_title_only_articles_into_the_body(tmp_path):
    folder = tmp_path / "titles"
    folder.mkdir()
    (folder / "articles.jsonl").write_text(
        '{"id": "a", "title": "利息计算", "body": "", "lang": "zh"}\n', encoding="utf-8"
    )
    (folder / "queries.jsonl").write_text('{"query": "利息", "relevant_ids": ["a"], "lang": "zh"}\n', encoding="utf-8")
    ds = datasets.load_dataset(folder, tmp_path / "work")
    assert json.loads(ds.articles.read_text(encoding="utf-8")) == {
        "id": "a",
        "title": "",
        "body": "利息计算",
        "lang": "zh",
    }


def test_leave_out_drops_articles_and_turns_their_queries_into_no_answer_ones(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps({"id": f"a{i}", "title": "t", "body": "b"}) + "\n" for i in range(10)))
    queries = [Query(f"q{i}", "text", (f"a{i}",), "en") for i in range(10)]
    ds = datasets.leave_out(datasets.Dataset("toy", articles, queries), 0.3, 13, tmp_path / "work")
    kept = {json.loads(line)["id"] for line in ds.articles.read_text().splitlines()}
    assert len(kept) == 7
    assert {q.relevant_ids[0] for q in ds.queries if q.answerable} == kept
    assert sum(not q.answerable for q in ds.queries) == 3


def test_golden_dataset_reads_the_golden_queries_and_names_a_missing_file(tmp_path):
    queries = tmp_path / "golden.jsonl"
    queries.write_text('{"query": "x", "relevant_ids": ["a"], "lang": "en"}\n', encoding="utf-8")
    ds = datasets.golden_dataset(tmp_path / "kb", queries)
    assert ds.name == "golden" and ds.articles == tmp_path / "kb" and len(ds.queries) == 1
    with pytest.raises(ContentError, match="missing.jsonl"):
        datasets.golden_dataset(tmp_path / "kb", tmp_path / "missing.jsonl")
