"""Tables of eval/report.py: RESULTS.md summaries, the golden breakdown and calibration."""

import json

from eval import report
from eval.data import Query
from eval.run import QueryResult, RunReport


def _run(backend, mode, mrr, answerable=None):
    metrics = {"recall@1": 0.5, "recall@5": 0.9, "recall@10": 1.0, "mrr@10": mrr, "ndcg@10": 0.7}
    return {
        "mode": mode,
        "backend": backend,
        "model": "m",
        "metrics": metrics,
        "by_lang": {"en": metrics},
        "answerable": answerable,
        "latency_ms": {"p50": 1.25, "p95": 3.0},
    }


def test_tables_bold_the_best_configuration_and_skip_empty_files(tmp_path):
    runs = [
        _run("use-multilingual", "dense", 0.6),
        _run("use-multilingual", "hybrid", 0.8, {"precision": 1.0, "recall": 0.25}),
    ]
    (tmp_path / "clinc150.json").write_text(json.dumps({"dataset": "clinc150", "n_queries": 3, "runs": runs}))
    (tmp_path / "banking77.json").write_text("")  # a run still in progress
    results = report.load_results(tmp_path)
    assert [d["dataset"] for d in results] == ["clinc150"]
    compact = report.summary_compact(results).splitlines()
    assert compact[0] == "| set | dense use-multilingual | hybrid use-multilingual |"
    assert compact[2] == "| clinc150 | 0.900 / 0.600 | **0.900 / 0.800** |"
    assert "| clinc150 | use-multilingual | hybrid | 0.500 | 0.900 | 1.000 | 0.800 | 0.700 | 1.000 / 0.250 | 1.2 |" in (
        report.summary_full(results)
    )


def _result(qid, relevant, ranking, answerable, kind):
    query = Query(qid, qid, tuple(relevant), "zh", {"type": kind})
    return QueryResult(query, list(ranking), answerable, 1.0)


def test_breakdown_reports_near_copies_and_no_answer_detection_per_no_answer_type():
    run = RunReport("hybrid", "ensemble", "m")
    run.results = [
        _result("a1", ["x"], ["x"], True, "plain"),
        _result("a2", ["y"], ["z", "y"], False, "plain"),  # answerable, wrongly flagged
        _result("a3", ["z"], [], True, "asr"),
        _result("n1", [], ["x"], False, "unanswerable"),
        _result("n2", [], ["x"], True, "unanswerable"),
        _result("n3", [], ["y"], False, "unanswerable_on_topic"),
    ]
    lines = report.breakdown_markdown(run, near_copies={"a1", "n1"}).splitlines()
    assert "| all | 3 | 0.333 | 0.667 | 0.500 | 1 |" in lines
    assert "| type=plain | 2 | 0.500 | 1.000 | 0.750 | 1 |" in lines
    assert "| type=asr | 1 | 0.000 | 0.000 | 0.000 | 0 |" in lines
    assert "| near-copy | 1 | 1.000 | 1.000 | 1.000 | 1 |" in lines
    assert "near-copies of titles (bigram overlap >= 0.5): 1/3 answerable queries (33.3%)" in lines
    # flagged: a2 (wrong), n1, n3; each row counts a2 against its own no-answer queries
    assert "| all | 3 | 2 | 0.667 | 0.667 |" in lines
    assert "| type=unanswerable | 2 | 1 | 0.500 | 0.500 |" in lines
    assert "| type=unanswerable_on_topic | 1 | 1 | 0.500 | 1.000 |" in lines


def test_breakdown_without_no_answer_queries_has_no_detection_table():
    run = RunReport("hybrid", "ensemble", "m")
    run.results = [_result("a1", ["x"], ["x"], True, "plain")]
    text = report.breakdown_markdown(run)
    assert "| all | 1 | 1.000 | 1.000 | 1.000 | 0 |" in text
    assert "near-copy |" not in text
    assert "answerable=false" not in text
