"""Tables of eval/report.py: RESULTS.md summaries, the golden breakdown and calibration."""

import json

from eval import report


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
