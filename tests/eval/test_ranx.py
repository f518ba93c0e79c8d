"""ranx, an independent implementation, confirms our numbers on the TREC export."""

import json

import pytest

from service.cli import main
from tests.eval.conftest import EVAL_MINI

ranx = pytest.importorskip("ranx")


@pytest.mark.filterwarnings("ignore::Warning")  # numba warns about casts while compiling ranx's kernels
def test_ranx_agrees_with_our_metrics_on_trec_files(runner, eval_settings, fake_factory, tmp_path):
    trec = tmp_path / "trec"
    result = runner.invoke(
        main, ["eval", "--dataset", str(EVAL_MINI), "--json", "--trec-dir", str(trec)], obj=eval_settings
    )
    assert result.exit_code == 0, result.output
    qrels = ranx.Qrels.from_file(str(trec / "qrels.txt"), kind="trec")
    for run in json.loads(result.stdout)["runs"]:
        ranking = ranx.Run.from_file(str(trec / f"{run['backend']}.{run['mode']}.run"), kind="trec")
        theirs = ranx.evaluate(qrels, ranking, list(run["metrics"]), make_comparable=True)
        for name, ours in run["metrics"].items():
            assert ours == pytest.approx(theirs[name], abs=1e-4), (run["mode"], name)
