"""``kbassist eval``: score retrieval configurations on the golden set or a public dataset."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import cast

import click

from eval import data, report
from eval.run import CACHE, evaluate, golden_dataset, load_dataset, sample
from eval.stats import compare_all
from indexer.config import SEARCH_MODES, EmbeddingBackend, SearchMode
from indexer.errors import KBError
from indexer.factory import make_embedder, settings_from

GOLDEN = Path(__file__).parent / "golden" / "queries.jsonl"
BACKENDS: tuple[str, ...] = typing.get_args(EmbeddingBackend)


def _csv_list(allowed: tuple[str, ...]) -> Callable[[click.Context, click.Parameter, str | None], list[str] | None]:
    """A click callback turning ``"a,b"`` into ``["a", "b"]``, each checked against ``allowed``."""

    def parse(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
        if value is None:
            return None
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise click.BadParameter(f"{', '.join(bad) or 'nothing'}: choose from {', '.join(allowed)}")
        return list(dict.fromkeys(items))

    return parse


@click.command("eval")
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with articles.jsonl and queries.jsonl (default: kb_content/ vs eval/golden).",
)
@click.option(
    "--modes",
    metavar="LIST",
    callback=_csv_list(SEARCH_MODES),
    default="dense,lexical,hybrid",
    show_default=True,
    help="Comma-separated search modes.",
)
@click.option(
    "--backend",
    "backends",
    metavar="LIST",
    callback=_csv_list(BACKENDS),
    default=None,
    help="Comma-separated embedding backends (default: $KB_EMBEDDING_BACKEND).",
)
@click.option("--limit", type=click.IntRange(1), help="Sample at most N answerable (and N no-answer) queries.")
@click.option("--seed", type=int, default=13, show_default=True, help="Seed of the --limit sample and of the tests.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (paired tests go to stderr).")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), help="Save a Recall@k PNG chart here.")
@click.option("--trec-dir", type=click.Path(path_type=Path, file_okay=False), help="Write TREC qrels and runs here.")
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    dataset: Path | None,
    modes: list[str],
    backends: list[str] | None,
    limit: int | None,
    seed: int,
    as_json: bool,
    plot: Path | None,
    trec_dir: Path | None,
) -> None:
    """Measure retrieval quality: Recall@k, MRR@10, nDCG@10, no-answer detection, latency."""
    settings = settings_from(ctx)
    try:
        ds = (
            load_dataset(dataset, settings.data_dir / CACHE)
            if dataset
            else golden_dataset(settings.content_dir, GOLDEN)
        )
        ds = type(ds)(ds.name, ds.articles, sample(ds.queries, limit, seed))
        runs = evaluate(
            ds, settings, backends or [settings.embedding_backend], cast(list[SearchMode], modes), make_embedder
        )
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    result = report.payload(ds, runs)
    if trec_dir is not None:
        trec_dir.mkdir(parents=True, exist_ok=True)
        data.write_qrels(trec_dir / "qrels.txt", data.qrels_of(ds.queries))
        for run in runs:
            data.write_run(trec_dir / f"{run.backend}.{run.mode}.run", run.run_docs(), f"{run.backend}.{run.mode}")
    if plot is not None:
        report.plot(result, plot)
    comparisons = compare_all(
        {report.config_name(r): r.per_query("mrr@10") for r in runs}, "mrr@10", seed, report.one_factor_pairs(runs)
    )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        if comparisons:
            click.echo(report.comparisons_markdown(comparisons), err=True)
        return
    n_judged = sum(q.answerable for q in ds.queries)
    click.echo(f"## {ds.name}: {n_judged} answerable + {len(ds.queries) - n_judged} no-answer queries\n")
    click.echo(report.markdown(result))
    if comparisons:
        click.echo("\nPaired tests on per-query MRR@10:\n")
        click.echo(report.comparisons_markdown(comparisons))


COMMANDS = (eval_cmd,)
