"""``kbassist eval``: score retrieval configurations, break the golden set down, calibrate, summarise.

``kbassist eval [OPTIONS]`` without a subcommand means ``kbassist eval run [OPTIONS]``,
so the commands in eval/RESULTS.md keep working.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from eval import calibrate, data, holdout, overlap, report, rerank_data
from eval.datasets import PUBLIC_DATASETS, golden_dataset, load_dataset, sample
from eval.run import CACHE, cached_retriever, evaluate, run_queries
from eval.stats import compare_all
from indexer.answerable import ANSWER_MODELS_FILE, load_answer_models, save_answer_model
from indexer.config import SEARCH_MODES, EmbeddingBackend, SearchMode, Settings
from indexer.errors import KBError
from indexer.factory import make_embedder, settings_from

F = TypeVar("F", bound=Callable[..., Any])

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


class _RunByDefault(click.Group):
    """A group whose first argument, when it names no subcommand, belongs to ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_RunByDefault)
def eval_group() -> None:
    """Measure retrieval quality (``run``, the default), break it down, calibrate answerability, summarise."""


def _settings_for(ctx: click.Context, backend: str | None) -> Settings:
    settings = settings_from(ctx)
    return settings.model_copy(update={"embedding_backend": backend}) if backend else settings


@eval_group.command("run")
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
        ds = load_dataset(dataset, settings.data_dir / CACHE) if dataset else golden_dataset(settings.content_dir)
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


@eval_group.command("breakdown")
@click.option("--backend", type=click.Choice(BACKENDS), help="Embedding backend (default: $KB_EMBEDDING_BACKEND).")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default="hybrid", show_default=True, help="Search mode.")
@click.option(
    "--queries",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Golden queries file to evaluate instead of eval/golden/queries.jsonl (e.g. an older edition).",
)
@click.pass_context
def breakdown_cmd(ctx: click.Context, backend: str | None, mode: str, queries: Path | None) -> None:
    """Golden-set R@5 and MRR@10 per query type (colloquial, typo, pinyin, crosslingual, …) and language.

    Crosslingual queries are the ones whose answer is written in the other language. Also
    prints how many queries are near-copies of a relevant article's title (eval/overlap.py)
    and the no-answer precision / recall of the ``answerable`` flag, for all no-answer
    queries and for each no-answer type (off-topic, on-topic) alone.
    """
    settings = _settings_for(ctx, backend)
    try:
        dataset = golden_dataset(settings.content_dir, queries)
        titles = overlap.article_titles(dataset.articles)
        retriever = cached_retriever(dataset.articles, settings, make_embedder)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    run = run_queries(retriever, dataset.queries, cast(SearchMode, mode))
    near = {q.query_id for q in overlap.near_copies(dataset.queries, titles)}
    click.echo(f"golden set{f' ({queries})' if queries else ''}, {settings.embedding_backend}/{mode}")
    click.echo(report.breakdown_markdown(run, near))


@eval_group.command("calibrate")
@click.option(
    "--datasets",
    type=click.Path(path_type=Path, file_okay=False),
    default=PUBLIC_DATASETS,
    show_default=True,
    help="Folder holding the public sets.",
)
@click.option("--backend", type=click.Choice(BACKENDS), help="Embedding backend (default: $KB_EMBEDDING_BACKEND).")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Queries per class and set (seeded sample).",
)
@click.option(
    "--share", type=click.FloatRange(0.0, 1.0), default=0.2, show_default=True, help="Share of articles left out."
)
@click.option("--seed", type=int, default=13, show_default=True, help="Seed of the samples and the left-out share.")
@click.option(
    "--samples",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Signals cache (JSONL): read if present, else written.",
)
@click.option(
    "--precision",
    type=click.FloatRange(0.0, 1.0),
    default=0.9,
    show_default=True,
    help=f"No-answer precision to keep on {calibrate.THRESHOLD_SET}.",
)
@click.option(
    "--models-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=ANSWER_MODELS_FILE,
    show_default=True,
    help="Answer-model file the fitted model is stored in (the packaged one).",
)
@click.pass_context
def calibrate_cmd(
    ctx: click.Context,
    datasets: Path,
    backend: str | None,
    limit: int,
    share: float,
    seed: int,
    samples: Path | None,
    precision: float,
    models_file: Path,
) -> None:
    """Fit the answerability model on public data, store it for the backend, score it on the golden set.

    The golden set is never used for fitting; it is scored as held-out data.
    """
    settings = _settings_for(ctx, backend)
    try:
        if samples is not None and samples.is_file():
            sets = calibrate.read_samples(samples)
        else:
            sets = calibrate.collect_all(settings, make_embedder, datasets, limit, share, seed)
            if samples is not None:
                calibrate.write_samples(samples, sets)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        previous = load_answer_models(models_file).get(settings.embedding_backend) if models_file.is_file() else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    held_out = sets.pop(calibrate.HELD_OUT)
    model = calibrate.fit(sets, precision)
    save_answer_model(settings.embedding_backend, model, models_file)
    click.echo(f"{settings.embedding_backend}: {model!r} -> {models_file}\n")
    click.echo(report.calibration_markdown(sets, held_out, model, precision))
    if previous is not None and previous != model:
        # So a refit can be judged against what it overwrote (and reverted with git) before it ships.
        click.echo(f"\nThe model it replaced, {previous!r}, on the same signals:\n")
        click.echo(report.calibration_table(sets, held_out, previous))


def _candidate_set_options(command: F) -> F:
    """The options of the commands that search the public sets once and cache their candidate signals."""
    options = (
        click.option(
            "--datasets",
            type=click.Path(path_type=Path, file_okay=False),
            default=PUBLIC_DATASETS,
            show_default=True,
            help="Folder holding the public sets (every subfolder with an articles.jsonl).",
        ),
        click.option(
            "--limit", type=click.IntRange(1), default=1000, show_default=True, help="Queries sampled per set."
        ),
        click.option("--seed", type=int, default=13, show_default=True, help="Seed of the samples."),
        click.option(
            "--cache",
            type=click.Path(path_type=Path, file_okay=False),
            help="Where each set's candidate signals are cached (default: $KB_DATA_DIR/eval-cache/holdout).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@eval_group.command("holdout")
@_candidate_set_options
@click.pass_context
def holdout_cmd(ctx: click.Context, datasets: Path, limit: int, seed: int, cache: Path | None) -> None:
    """Fit fusion on all public sets but one and score it on that one, for each set (ensemble backend).

    Each set is searched once; every fusion rule and constant of the grid is then scored
    on the cached candidate signals (eval/holdout.py).
    """

    settings = _settings_for(ctx, "ensemble")
    folder = cache or settings.data_dir / CACHE / "holdout"
    try:
        sets = rerank_data.public_sets(settings, datasets, limit, seed, folder)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if len(sets) < 2:
        raise click.ClickException(f"{datasets}: leaving one set out needs at least two sets")
    shipped = holdout.shipped_setting(settings)
    scores = holdout.score_grid(sets, [*holdout.grid(), shipped])
    rows = holdout.leave_one_out(scores, list(sets))
    components = {name: holdout.parts(f, shipped) for name, f in sets.items()}
    click.echo(holdout.markdown(rows, shipped, scores, components))


@eval_group.command("rerank")
@_candidate_set_options
@click.pass_context
def rerank_cmd(ctx: click.Context, datasets: Path, limit: int, seed: int, cache: Path | None) -> None:
    """Experiment: a LightGBM reranker and answerability classifier over the hybrid candidates' signals, fitted
    leave-one-dataset-out on the public sets and scored on golden (eval/rerank.py; needs the ``eval`` extra)."""
    from eval import rerank_lodo  # lightgbm is an eval extra: import it only here

    settings = _settings_for(ctx, "ensemble")
    folder = cache or settings.data_dir / CACHE / "holdout"
    try:
        public = rerank_data.public_sets(settings, datasets, limit, seed, folder)
        oos = rerank_data.out_of_scope(settings, datasets, folder)
        golden = rerank_data.golden(settings, folder)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if len(public) < 2:
        raise click.ClickException(f"{datasets}: leaving one set out needs at least two sets")
    click.echo(rerank_lodo.experiment(public, oos, golden, holdout.shipped_setting(settings)))


@eval_group.command("summary")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("eval/out"))
def summary_cmd(folder: Path) -> None:
    """The Markdown tables of eval/RESULTS.md from ``eval/results.sh`` output (FOLDER/*.json)."""
    results = report.load_results(folder)
    click.echo(report.summary_compact(results) + "\n\n" + report.summary_full(results))


COMMANDS = (eval_group,)
