"""``kbassist eval`` with the real default model (multilingual USE) on the tiny dataset."""

import json

import pytest

from service.cli import main
from tests.eval.conftest import EVAL_MINI

pytestmark = pytest.mark.slow


def test_real_model_eval_finds_articles_across_languages(runner, eval_settings):
    result = runner.invoke(
        main, ["eval", "--dataset", str(EVAL_MINI), "--backend", "use-multilingual", "--json"], obj=eval_settings
    )
    assert result.exit_code == 0, result.output
    runs = {run["mode"]: run for run in json.loads(result.stdout)["runs"]}
    assert runs["dense"]["model"] == "universal-sentence-encoder-multilingual-3"
    assert runs["dense"]["metrics"]["recall@5"] >= 0.8
    assert runs["hybrid"]["metrics"]["mrr@10"] >= 0.8
    assert runs["hybrid"]["latency_ms"]["p50"] > 0
