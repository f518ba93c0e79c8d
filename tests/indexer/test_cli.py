"""`kbassist index` then `kbassist query` with the real default-language model, through the CLI."""

import json

import pytest
from click.testing import CliRunner

from indexer.config import Settings
from service.cli import main

pytestmark = pytest.mark.slow


def test_query_command_reports_the_query_as_searched(kb_dir, tmp_path):
    settings = Settings(content_dir=kb_dir, data_dir=tmp_path / "data", embedding_backend="use-multilingual")
    runner = CliRunner()
    result = runner.invoke(main, ["index"], obj=settings)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["query", "tk多久到账", "--json"], obj=settings)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["searched_as"] == "退款多久到账"
    assert payload["results"][0]["article_id"] == "refund-arrival"
    plain = runner.invoke(main, ["query", "退款多久到账"], obj=settings)
    assert plain.exit_code == 0 and "searched as" not in plain.output
    assert "refund-arrival" in plain.output
