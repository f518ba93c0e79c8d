"""``kbassist eval`` end to end on the tiny dataset, with the fake embedder."""

import json
import random
import re

import pytest

from eval import calibrate
from indexer.answerable import FEATURES, AnswerModel, load_answer_models, save_answer_model
from service.cli import main
from tests.eval.conftest import EVAL_MINI

METRIC_KEYS = {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
BOTH = "use-multilingual,sentence-transformers"


def invoke(runner, settings, *args):
    return runner.invoke(main, ["eval", *args], obj=settings)


def test_eval_json_has_the_documented_shape(runner, eval_settings, fake_factory):
    result = invoke(runner, eval_settings, "--dataset", str(EVAL_MINI), "--backend", BOTH, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"dataset", "n_queries", "runs"}
    assert payload["dataset"] == "eval_mini" and payload["n_queries"] == 9
    assert [(r["backend"], r["mode"]) for r in payload["runs"]] == [
        (b, m) for b in BOTH.split(",") for m in ("dense", "lexical", "hybrid")
    ]
    for run in payload["runs"]:
        assert set(run) == {"mode", "backend", "model", "metrics", "by_lang", "answerable", "latency_ms"}
        assert set(run["metrics"]) == METRIC_KEYS
        assert set(run["by_lang"]) == {"en", "zh"} and set(run["by_lang"]["zh"]) == METRIC_KEYS
        assert set(run["answerable"]) == {"precision", "recall"}
        assert set(run["latency_ms"]) == {"p50", "p95"}
        assert all(0.0 <= v <= 1.0 for v in run["metrics"].values())
    # at worst "退货运费谁出" finds 1 of its 2 articles; 5/6 would mean the renamed "card_payment?" was lost
    assert payload["runs"][1]["metrics"]["recall@10"] >= 5.5 / 6 - 1e-4
    assert "paired randomization" in result.stderr
    tested = [
        line.split(" | ")[:2]
        for line in result.stderr.splitlines()
        if line.startswith("| use") or line.startswith("| sentence")
    ]
    # 3 mode pairs per backend + 2 backend pairs (dense, hybrid); lexical is the same for every backend
    assert len(tested) == 8
    assert ["| use-multilingual/lexical", "sentence-transformers/lexical"] not in tested


def test_eval_reuses_the_cached_index(runner, eval_settings, fake_factory):
    first = invoke(runner, eval_settings, "--dataset", str(EVAL_MINI), "--modes", "hybrid", "--json")
    assert first.exit_code == 0, first.output
    assert fake_factory.embedded, "the first run indexes the articles"
    fake_factory.made.clear()
    second = invoke(runner, eval_settings, "--dataset", str(EVAL_MINI), "--modes", "hybrid", "--json")
    assert second.exit_code == 0, second.output
    assert fake_factory.embedded == []
    assert json.loads(second.stdout)["runs"][0]["metrics"] == json.loads(first.stdout)["runs"][0]["metrics"]


def test_eval_markdown_table_plot_and_trec_files(runner, eval_settings, fake_factory, tmp_path):
    png, trec = tmp_path / "recall.png", tmp_path / "trec"
    result = invoke(
        runner,
        eval_settings,
        "--dataset",
        str(EVAL_MINI),
        "--modes",
        "lexical,hybrid",
        "--plot",
        str(png),
        "--trec-dir",
        str(trec),
    )
    assert result.exit_code == 0, result.output
    assert "## eval_mini: 6 answerable + 3 no-answer queries" in result.output
    assert "| use-multilingual | hybrid |" in result.output
    assert "| use-multilingual | lexical | zh |" in result.output
    assert "Paired tests on per-query MRR@10" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in trec.iterdir()) == [
        "qrels.txt",
        "use-multilingual.hybrid.run",
        "use-multilingual.lexical.run",
    ]


def test_eval_limit_samples_answerable_queries(runner, eval_settings, fake_factory):
    result = invoke(
        runner, eval_settings, "--dataset", str(EVAL_MINI), "--modes", "lexical", "--limit", "2", "--seed", "1"
    )
    assert result.exit_code == 0, result.output
    assert "## eval_mini: 2 answerable + 2 no-answer queries" in result.output


def test_eval_defaults_to_kb_content_and_golden_queries(runner, eval_settings, fake_factory, monkeypatch, tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(
        '{"query": "退款多久到账", "relevant_ids": ["refund-arrival"], "lang": "zh"}\n'
        '{"query": "cancel my order", "relevant_ids": ["en-order-cancel"], "lang": "en"}\n',
        encoding="utf-8",
    )
    monkeypatch.setattr("eval.datasets.GOLDEN_QUERIES", golden)
    result = invoke(runner, eval_settings, "--modes", "lexical", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dataset"] == "golden" and payload["n_queries"] == 2
    assert payload["runs"][0]["metrics"]["recall@5"] == 1.0
    assert payload["runs"][0]["answerable"] is None


def test_eval_without_golden_queries_fails_clearly(runner, eval_settings, fake_factory, monkeypatch, tmp_path):
    monkeypatch.setattr("eval.datasets.GOLDEN_QUERIES", tmp_path / "missing.jsonl")
    result = invoke(runner, eval_settings)
    assert result.exit_code == 1
    assert "golden queries" in result.output and "eval/golden/parts" in result.output


def test_eval_dataset_without_articles_fails(runner, eval_settings, fake_factory, tmp_path):
    result = invoke(runner, eval_settings, "--dataset", str(tmp_path))
    assert result.exit_code == 1
    assert "has no articles.jsonl" in result.output


@pytest.mark.parametrize("option", [["--modes", "dense,bm25"], ["--backend", "openai"], ["--modes", ","]])
def test_eval_rejects_unknown_choices(runner, eval_settings, fake_factory, option):
    result = invoke(runner, eval_settings, "--dataset", str(EVAL_MINI), *option)
    assert result.exit_code == 2
    assert "choose from" in result.output


def test_eval_run_subcommand_is_the_default(runner, eval_settings, fake_factory):
    args = ["--dataset", str(EVAL_MINI), "--modes", "lexical", "--json"]
    explicit, default = invoke(runner, eval_settings, "run", *args), invoke(runner, eval_settings, *args)
    assert explicit.exit_code == 0, explicit.output
    assert json.loads(explicit.stdout)["runs"][0]["metrics"] == json.loads(default.stdout)["runs"][0]["metrics"]


def test_eval_help_lists_the_subcommands(runner, eval_settings):
    result = invoke(runner, eval_settings, "--help")
    assert result.exit_code == 0, result.output
    for name in ("run", "breakdown", "calibrate", "summary"):
        assert f"  {name}" in result.output


def test_eval_breakdown_groups_golden_queries_by_type_and_language(
    runner, eval_settings, fake_factory, monkeypatch, tmp_path
):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(
        '{"query": "退款多久到账", "relevant_ids": ["refund-arrival"], "lang": "zh", "meta": {"type": "colloquial"}}\n'
        '{"query": "cancel my order", "relevant_ids": ["en-order-cancel"], "lang": "en", "meta": {"type": "typo"}}\n'
        '{"query": "天气怎么样", "relevant_ids": [], "lang": "zh", "meta": {"type": "unanswerable"}}\n',
        encoding="utf-8",
    )
    monkeypatch.setattr("eval.datasets.GOLDEN_QUERIES", golden)
    result = invoke(runner, eval_settings, "breakdown", "--mode", "lexical")
    assert result.exit_code == 0, result.output
    assert "golden set, use-multilingual/lexical" in result.output
    assert "| all | 2 | 1.000 | 1.000 |" in result.output
    assert "| type=colloquial | 1 |" in result.output and "| lang=en | 1 |" in result.output
    assert "no-answer queries flagged answerable=false" in result.output
    assert re.search(r"^\| type=unanswerable \| 1 \| [01] \|", result.output, re.MULTILINE), result.output


def test_eval_breakdown_queries_option_evaluates_another_queries_file(runner, eval_settings, fake_factory, tmp_path):
    older = tmp_path / "older.jsonl"
    rows = [
        {"query": text, "relevant_ids": ["refund-arrival"], "lang": "zh", "meta": {"type": "plain"}}
        for text in ("退款多久能到账", "昨天退的钱微信里还没看到")
    ]
    older.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = invoke(runner, eval_settings, "breakdown", "--mode", "lexical", "--queries", str(older))
    assert result.exit_code == 0, result.output
    assert f"golden set ({older}), use-multilingual/lexical" in result.output
    assert "| type=plain | 2 |" in result.output
    # the first repeats the title "退款多久到账"; the second does not
    assert "near-copies of titles (bigram overlap >= 0.5): 1/2 answerable queries (50.0%)" in result.output
    assert "answerable=false" not in result.output

    missing = invoke(runner, eval_settings, "breakdown", "--queries", str(tmp_path / "none.jsonl"))
    assert missing.exit_code == 2 and "does not exist" in missing.output


def _samples_file(path):
    """Signals of two well-separated classes for every set calibrate fits on, plus the held-out golden set."""
    rng = random.Random(0)
    lines = []
    for name in (*calibrate.FIT_SETS, calibrate.HELD_OUT):
        for i in range(40):
            answerable = i % 2 == 0
            top = rng.uniform(0.6, 0.9) if answerable else rng.uniform(0.1, 0.4)
            signals = dict.fromkeys(FEATURES, 0.0) | {"top_dense": top, "lexical": top / 2}
            row = {"set": name, "lang": "zh" if i % 4 < 2 else "en", "answerable": answerable, "top_dense": top}
            if name == calibrate.HELD_OUT and not answerable:
                row["kind"] = "unanswerable" if i % 4 == 1 else "unanswerable_on_topic"
            lines.append(json.dumps(row | {"signals": signals}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_eval_calibrate_stores_the_fitted_model_in_the_models_file(runner, eval_settings, tmp_path):
    samples, models = tmp_path / "samples.jsonl", tmp_path / "models.json"
    _samples_file(samples)
    save_answer_model("sentence-transformers", AnswerModel(("top_dense",), {"en": (0.0, 1.0)}, 0.5), models)
    result = invoke(runner, eval_settings, "calibrate", "--samples", str(samples), "--models-file", str(models))
    assert result.exit_code == 0, result.output
    stored = load_answer_models(models)
    assert set(stored) == {"use-multilingual", "sentence-transformers"}
    fitted = stored["use-multilingual"]
    assert fitted.features == calibrate.MODEL_FEATURES and 0.0 < fitted.threshold < 1.0
    assert fitted.weights["en"][1] > 0  # a higher top dense score means more likely answerable
    assert "| clinc150 oos | 20 + 20 | 1.000 / 1.000 | 1.000 | 1.000 |" in result.output
    assert "| golden (held out) | 20 + 20 |" in result.output
    assert "| golden, answerable + unanswerable (held out) | 20 + 10 |" in result.output
    assert "| golden, answerable + unanswerable_on_topic (held out) | 20 + 10 |" in result.output
    assert "ROC AUC of each signal alone" in result.output
    assert "The model it replaced" not in result.output  # use-multilingual had none


def test_eval_calibrate_shows_the_model_it_replaces_on_the_same_signals(runner, eval_settings, tmp_path):
    samples, models = tmp_path / "samples.jsonl", tmp_path / "models.json"
    _samples_file(samples)
    # a model that flags every query: no-answer recall 1.0, every answerable query lost
    save_answer_model("use-multilingual", AnswerModel(("top_dense",), {"en": (-10.0, 1.0)}, 0.5), models)
    result = invoke(runner, eval_settings, "calibrate", "--samples", str(samples), "--models-file", str(models))
    assert result.exit_code == 0, result.output
    assert load_answer_models(models)["use-multilingual"].features == calibrate.MODEL_FEATURES
    replaced = result.output.split("The model it replaced")[1]
    assert "threshold=0.5" in replaced.splitlines()[0]
    assert "| clinc150 oos | 20 + 20 | 0.500 / 1.000 | 1.000 | 1.000 | 0.000 |" in replaced


def test_eval_summary_prints_both_tables(runner, eval_settings, tmp_path):
    run = {
        "mode": "hybrid",
        "backend": "ensemble",
        "model": "m",
        "metrics": dict.fromkeys(("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"), 0.5),
        "by_lang": {},
        "answerable": None,
        "latency_ms": {"p50": 1.0, "p95": 2.0},
    }
    (tmp_path / "stackfaq.json").write_text(json.dumps({"dataset": "stackfaq", "n_queries": 1, "runs": [run]}))
    result = invoke(runner, eval_settings, "summary", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "| stackfaq | **0.500 / 0.500** |" in result.output
    assert "| stackfaq | ensemble | hybrid | 0.500 |" in result.output
