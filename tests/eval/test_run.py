"""Dataset loading, sampling and the index cache key."""

import json

from eval import run
from tests.eval.conftest import EVAL_MINI


def test_load_dataset_adds_oos_queries_and_fixes_invalid_ids(tmp_path):
    ds = run.load_dataset(EVAL_MINI, tmp_path)
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
    ds = run.load_dataset(folder, tmp_path / "work")
    assert ds.articles == folder / "articles.jsonl" and ds.name == "ok"


def test_sample_caps_each_group_and_is_seeded(tmp_path):
    queries = run.load_dataset(EVAL_MINI, tmp_path).queries
    picked = run.sample(queries, 2, seed=7)
    assert sum(q.answerable for q in picked) == 2 and sum(not q.answerable for q in picked) == 2
    assert picked == run.sample(queries, 2, seed=7)
    assert run.sample(queries, None, seed=7) == queries
    assert run.sample(queries, 100, seed=7) == queries


def test_cache_key_changes_with_content_embedder_and_chunk_size(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a", "body": "x"}\n', encoding="utf-8")
    key = run.cache_key(articles, "fake:m:64", 360)
    assert key == run.cache_key(articles, "fake:m:64", 360)
    assert key != run.cache_key(articles, "fake:m:32", 360)
    assert key != run.cache_key(articles, "fake:m:64", 200)
    articles.write_text('{"id": "a", "body": "y"}\n', encoding="utf-8")
    assert key != run.cache_key(articles, "fake:m:64", 360)


def test_load_dataset_moves_the_title_of_title_only_articles_into_the_body(tmp_path):
    folder = tmp_path / "titles"
    folder.mkdir()
    (folder / "articles.jsonl").write_text(
        '{"id": "a", "title": "利息计算", "body": "", "lang": "zh"}\n', encoding="utf-8"
    )
    (folder / "queries.jsonl").write_text('{"query": "利息", "relevant_ids": ["a"], "lang": "zh"}\n', encoding="utf-8")
    ds = run.load_dataset(folder, tmp_path / "work")
    assert json.loads(ds.articles.read_text(encoding="utf-8")) == {
        "id": "a",
        "title": "",
        "body": "利息计算",
        "lang": "zh",
    }
