"""Queries JSONL in, TREC qrels and run files out."""

import pytest

from eval import data
from indexer.errors import ContentError
from tests.conftest import DATA

EVAL_MINI = DATA / "eval_mini"


def test_read_queries_keeps_lines_and_empty_relevant_ids():
    queries = data.read_queries(EVAL_MINI / "queries.jsonl")
    assert len(queries) == 7
    assert queries[1].query_id == "q2" and queries[1].relevant_ids == ("shipping-fee", "refund-time")
    assert not queries[6].answerable and queries[6].lang == "en"


def test_read_queries_reports_file_and_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "ok", "relevant_ids": []}\n{"relevant_ids": ["a"]}\n', encoding="utf-8")
    with pytest.raises(ContentError, match=r"q.jsonl:2: bad query record"):
        data.read_queries(path)


def test_read_queries_missing_file(tmp_path):
    with pytest.raises(ContentError, match="does not exist"):
        data.read_queries(tmp_path / "nope.jsonl")


def test_trec_round_trip_keeps_order_even_when_scores_tie(tmp_path):
    queries = data.read_queries(EVAL_MINI / "queries.jsonl")
    qrels = data.qrels_of(queries)
    assert len(qrels) == 7  # 6 answerable queries, one with two relevant articles
    data.write_qrels(tmp_path / "qrels.txt", qrels)
    assert data.read_qrels(tmp_path / "qrels.txt") == qrels
    run = [data.ScoredDoc("q1", "b", 0.5), data.ScoredDoc("q1", "a", 0.5), data.ScoredDoc("q2", "c", 0.1)]
    data.write_run(tmp_path / "x.run", run, "tag")
    lines = (tmp_path / "x.run").read_text(encoding="utf-8").splitlines()
    assert lines[0].split() == ["q1", "Q0", "b", "1", "1.0000000000", "tag"]
    back = data.read_run(tmp_path / "x.run")
    assert [d.doc_id for d in back] == ["b", "a", "c"]
    assert back[0].score > back[1].score
