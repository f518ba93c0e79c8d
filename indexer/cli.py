"""Editors' commands: ``validate``, ``index`` and ``query``.

Thin wrappers over the library: parse options, call ``indexer.*``, print. Domain
errors become ``click.ClickException`` (exit 1).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from indexer.build import BuildOptions, BuildResult, build_index, load_content
from indexer.config import SEARCH_MODES
from indexer.embed import Embedder
from indexer.errors import ContentError, KBError
from indexer.factory import load_retriever, make_embedder, settings_from
from indexer.filters import Filters
from indexer.sources import parse_csv_map
from indexer.versions import rollback

log = logging.getLogger(__name__)


@click.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--csv-map", help="For a CSV export: FIELD=COLUMN pairs, comma-separated.")
@click.pass_context
def validate_cmd(ctx: click.Context, path: Path | None, csv_map: str | None) -> None:
    """Check articles and report every problem as file:line: message (exit 1 on errors)."""
    settings = settings_from(ctx)
    source = path or settings.content_dir
    try:
        report = load_content(source, parse_csv_map(csv_map))
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems:
        click.echo(str(problem), err=problem.severity == "error")
    stale = len(report.warnings)
    published = sum(a.status == "published" for a in report.articles)
    click.echo(
        f"{len(report.articles)} valid article(s) ({published} published), "
        f"{len(report.errors)} error(s), {stale} warning(s)"
    )
    if report.errors:
        ctx.exit(1)


@click.command("index")
@click.option("--content", type=click.Path(path_type=Path), help="Content folder or export file (.jsonl/.csv).")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index root (default $KB_INDEX_DIR).")
@click.option("--full", is_flag=True, help="Re-embed every article instead of reusing unchanged vectors.")
@click.option("--strict", is_flag=True, help="Fail (publish nothing) if any article has an error.")
@click.option("--rollback", "do_rollback", is_flag=True, help="Return to the build that served before the current one.")
@click.option("--csv-map", help="For a CSV export: FIELD=COLUMN pairs, e.g. id=ID,title=Q,body=A,lang=Lang.")
@click.pass_context
def index_cmd(
    ctx: click.Context,
    content: Path | None,
    index_dir: Path | None,
    full: bool,
    strict: bool,
    do_rollback: bool,
    csv_map: str | None,
) -> None:
    """Build a new index version from the content and publish it atomically."""
    settings = settings_from(ctx)
    root = index_dir or settings.index_root
    try:
        if do_rollback:
            version = rollback(root)
            click.echo(f"rolled back: {version} is current")
            return
        options = BuildOptions(
            chunk_size=settings.chunk_size,
            exact_max=settings.exact_index_max_vectors,
            keep_builds=settings.keep_builds,
            batch_size=settings.embed_batch_size,
            full=full,
            strict=strict,
            csv_map=parse_csv_map(csv_map),
        )
        embedder = make_embedder(settings, threads=max(1, settings.embed_threads, 2))
        result = _run_build(content or settings.content_dir, root, embedder, options)
    except (KBError, ContentError) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in result.problems:
        click.echo(str(problem), err=True)
    skipped = len({p.path for p in result.problems if p.severity == "error"})
    click.echo(
        f"published {result.version}: {result.n_articles} articles, {result.n_chunks} chunks "
        f"({result.faiss_index} index)\n"
        f"  added {len(result.added)}  changed {len(result.changed)}  removed {len(result.removed)}  "
        f"unchanged {len(result.unchanged)}  skipped {skipped}\n"
        f"  embedded {result.embedded_chunks} chunks in {result.embed_seconds:.2f}s; total {result.seconds:.2f}s"
    )
    for label, ids in (("added", result.added), ("changed", result.changed), ("removed", result.removed)):
        if ids and len(ids) <= 20:
            click.echo(f"  {label}: {', '.join(ids)}")


def _run_build(source: Path, root: Path, embedder: Embedder, options: BuildOptions) -> BuildResult:
    if not sys.stderr.isatty():
        return build_index(source, root, embedder, options)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("embedding", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return build_index(source, root, embedder, options, progress)


@click.command("query")
@click.argument("text")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--mode", type=click.Choice(SEARCH_MODES), default="hybrid", show_default=True)
@click.option("--category", multiple=True, help="Only articles of this category (repeatable).")
@click.option("--internal/--public-only", default=True, help="Include internal articles (default: yes).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index root (default $KB_INDEX_DIR).")
@click.pass_context
def query_cmd(
    ctx: click.Context,
    text: str,
    top_k: int,
    mode: str,
    category: tuple[str, ...],
    internal: bool,
    as_json: bool,
    index_dir: Path | None,
) -> None:
    """Search the current build without HTTP."""
    settings = settings_from(ctx)
    try:
        retriever = load_retriever(settings, index_dir)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    result = retriever.search(
        text,
        k=top_k,
        mode=mode,  # type: ignore[arg-type]
        filters=Filters.of(category=category),
        include_internal=internal,
    )
    searched_as = result.normalized if result.normalized != text else None
    if as_json:
        payload = {
            "index_version": retriever.version,
            "searched_as": searched_as,
            "results": [
                {"article_id": h.article_id, "title": h.title, "score": round(h.score, 6), "snippet": h.snippet}
                for h in result.hits
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(f"index {retriever.version} · {mode} · {result.took_ms:.1f} ms")
    if searched_as is not None:
        click.echo(f"searched as: {searched_as}")
    for rank, h in enumerate(result.hits, 1):
        click.echo(f"{rank:>2}. [{h.score:.4f}] {h.article_id}  {h.title}")
        click.echo(f"    {h.snippet[:120]}")
    if not result.hits:
        click.echo("no results")


COMMANDS = (validate_cmd, index_cmd, query_cmd)
