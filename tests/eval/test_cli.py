"""``kbassist eval`` end to end on the tiny dataset, with the fake embedder."""

import json

import pytest

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
    monkeypatch.setattr("eval.cli.GOLDEN", golden)
    result = invoke(runner, eval_settings, "--modes", "lexical", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dataset"] == "golden" and payload["n_queries"] == 2
    assert payload["runs"][0]["metrics"]["recall@5"] == 1.0
    assert payload["runs"][0]["answerable"] is None


def test_eval_without_golden_queries_fails_clearly(runner, eval_settings, fake_factory, monkeypatch, tmp_path):
    monkeypatch.setattr("eval.cli.GOLDEN", tmp_path / "missing.jsonl")
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
