"""The index cache key of evaluation runs."""

from eval import run


def test_cache_key_changes_with_content_embedder_and_chunk_size(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "a", "body": "x"}\n', encoding="utf-8")
    key = run.cache_key(articles, "fake:m:64", 360)
    assert key == run.cache_key(articles, "fake:m:64", 360)
    assert key != run.cache_key(articles, "fake:m:32", 360)
    assert key != run.cache_key(articles, "fake:m:64", 200)
    articles.write_text('{"id": "a", "body": "y"}\n', encoding="utf-8")
    assert key != run.cache_key(articles, "fake:m:64", 360)
