"""Usage commands: ``agents import|list``, ``report``, ``flags list|resolve``, ``gaps record|list``, ``usage …``."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table as RichTable
from sqlmodel import Session

from indexer.errors import KBError
from indexer.factory import load_retriever
from indexer.sources import read_entries
from indexer.validate import ID_RE
from service.config import service_settings_from
from service.db import migrated_engine, utcnow
from service.pii import PIIMasker
from service.usage import crud, gap_records
from service.usage.agents_csv import AgentFileError, parse_map, read_agents
from service.usage.analytics import GroupBy, Options, Table
from service.usage.export import labelled_queries, write_dataset
from service.usage.facts import load_events, load_outcomes, load_suggestions
from service.usage.models import LINK_TYPES
from service.usage.periods import day_end, day_start
from service.usage.reports import KB, REPORT_NAMES, ReportUnavailable, run_report


@click.group("agents")
def agents_group() -> None:
    """Agents and their teams (from the HR/CRM export)."""


@agents_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--map", "column_map", help="FIELD=COLUMN pairs, e.g. agent_id=工号,display_name=姓名,team=组别.")
@click.pass_context
def agents_import(ctx: click.Context, path: Path, column_map: str | None) -> None:
    """Create or update agents from a CSV file (all rows or none)."""
    try:
        rows = read_agents(path, parse_map(column_map))
    except AgentFileError as exc:
        raise click.ClickException(str(exc)) from exc
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        for row in rows:
            crud.upsert_agent(
                session=session, agent_id=row.agent_id, display_name=row.display_name, team=row.team, active=row.active
            )
    click.echo(f"imported {len(rows)} agent(s) from {path}")


@agents_group.command("list")
@click.option("--team", help="Only this team.")
@click.pass_context
def agents_list(ctx: click.Context, team: str | None) -> None:
    """List agents (id, name, team, active)."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        rows = crud.list_agents(session=session, team=team)
    click.echo("agent_id\tdisplay_name\tteam\tactive")
    for a in rows:
        click.echo(f"{a.agent_id}\t{a.display_name or '-'}\t{a.team or '-'}\t{'yes' if a.active else 'no'}")


def render(table: Table, fmt: str) -> str:
    """A report as CSV, JSON or a terminal table (the definition always comes with it)."""
    if fmt == "json":
        rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
        return json.dumps(
            {"report": table.report, "definition": table.definition, "rows": rows},
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(table.rows)
        return out.getvalue().rstrip("\n")
    rich_table = RichTable(title=table.report)
    for column in table.columns:
        rich_table.add_column(column)
    for row in table.rows:
        rich_table.add_row(*("-" if v is None else str(v) for v in row))
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    console.print(rich_table)
    out_file = console.file
    assert isinstance(out_file, io.StringIO)
    return out_file.getvalue().rstrip("\n") + f"\n{table.definition}"


@click.command("report")
@click.argument("name", type=click.Choice(REPORT_NAMES))
@click.option("--period", type=click.Choice(("day", "week", "month")), default="week", show_default=True)
@click.option("--group-by", type=click.Choice(get_args(GroupBy)), default="all", show_default=True)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (KB_USAGE_TIME_ZONE).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table", show_default=True)
@click.pass_context
def report_cmd(ctx: click.Context, name: str, period: Any, group_by: Any, since: Any, until: Any, fmt: str) -> None:
    """Print a usage report (definitions in docs/usage.md)."""
    settings = service_settings_from(ctx)
    zone = ZoneInfo(settings.usage_time_zone)
    opts = Options(period=period, zone=zone, group_by=group_by, window_days=settings.usage_reopen_window_days)
    kb = KB({}, None, lambda _q: None)
    if name in ("gaps", "articles"):
        try:
            kb = KB.of(load_retriever(settings))
        except (KBError, OSError, RuntimeError, ValueError) as exc:  # no build, or its model cannot load here
            if name == "gaps":
                raise click.ClickException(f"content gaps need the index and its model: {exc}") from exc
            click.echo(f"warning: no serving build ({exc}); the stale column is left false", err=True)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        try:
            table = run_report(
                name,
                session=session,
                opts=opts,
                kb=kb,
                gap_distance=settings.usage_gap_distance,
                since=day_start(since.date(), zone) if since else None,
                until=day_end(until.date(), zone) if until else None,
                today=date.today(),
            )
        except ReportUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(render(table, fmt))


@click.group("flags")
def flags_group() -> None:
    """Flags agents raised on articles (flag it or fix it)."""


@flags_group.command("list")
@click.option("--status", type=click.Choice(("open", "resolved", "all")), default="open", show_default=True)
@click.option("--article", "article_id", help="Only this article.")
@click.pass_context
def flags_list(ctx: click.Context, status: str, article_id: str | None) -> None:
    """List flags with their comments."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        rows = crud.list_flags(session=session, status=None if status == "all" else status, article_id=article_id)
    click.echo("id\tarticle_id\tagent_id\tstatus\tcreated_at\tcomment")
    for f in rows:
        click.echo(
            f"{f.id}\t{f.article_id}\t{f.agent_id}\t{f.status}\t{f.created_at.isoformat(timespec='seconds')}\t"
            f"{f.comment or '-'}"
        )


@flags_group.command("resolve")
@click.argument("flag_id", type=int)
@click.option("--note", required=True, help="What was done (masked like queries).")
@click.option("--editor", default="cli", show_default=True, help="Who resolved it.")
@click.pass_context
def flags_resolve(ctx: click.Context, flag_id: int, note: str, editor: str) -> None:
    """Close a flag with a note."""
    if not note.strip():
        raise click.BadParameter("must not be blank", param_hint="--note")
    settings = service_settings_from(ctx)
    masked = PIIMasker(settings.pii_patterns).mask(note).text
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        flag = crud.resolve_flag(session=session, flag_id=flag_id, editor=editor, note=masked)
    if flag is None:
        raise click.ClickException(f"no flag with id {flag_id}")
    click.echo(f"flag {flag_id} is {flag.status}")


@click.group("gaps")
def gaps_group() -> None:
    """Recorded content gaps: groups of the gaps report an article can name in its `gap:` front matter."""


@gaps_group.command("record")
@click.argument("examples", nargs=-1, required=True)
@click.option("--title", help="The article to write (default: the first example).")
@click.option("--size", type=click.IntRange(1), help="Queries in the group (the report's `queries`).")
@click.option("--closest", "closest_article", help="The report's closest article.")
@click.option("--editor", default="cli", show_default=True, help="Who recorded it.")
@click.pass_context
def gaps_record(
    ctx: click.Context,
    examples: tuple[str, ...],
    title: str | None,
    size: int | None,
    closest_article: str | None,
    editor: str,
) -> None:
    """Record a group's EXAMPLES (the report's cell "a | b | c" is split); the same examples give the same id."""
    if closest_article is not None and not ID_RE.match(closest_article):
        raise click.BadParameter(f"{closest_article!r} is not an article id", param_hint="--closest")
    settings = service_settings_from(ctx)
    masker = PIIMasker(settings.pii_patterns)
    queries = [masker.mask(q).text for e in examples for q in e.split(" | ")]
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        try:
            gap, created = gap_records.record_gap(
                session=session,
                examples=queries,
                title=masker.mask(title).text if title else None,
                size=size or len(queries),
                closest_article=closest_article,
                recorded_by=editor,
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="EXAMPLES") from exc
    when = gap.recorded_at.isoformat(timespec="seconds")
    state = "recorded" if created else f"already recorded by {gap.recorded_by} at {when} ({gap.status})"
    click.echo(f"{gap.id} {state}: {gap.title}")
    click.echo(f"name it in the article's front matter:  gap: {gap.id}")


@gaps_group.command("list")
@click.option("--status", type=click.Choice(("open", "closed", "all")), default="open", show_default=True)
@click.pass_context
def gaps_list(ctx: click.Context, status: str) -> None:
    """List recorded gaps, oldest first (closed ones name the article that answered them)."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        rows = gap_records.list_gaps(session=session, status=None if status == "all" else status)
    click.echo("id\tstatus\tqueries\trecorded_at\trecorded_by\tclosed_by\ttitle\texamples")
    for g in rows:
        click.echo(
            f"{g.id}\t{g.status}\t{g.size}\t{g.recorded_at.isoformat(timespec='seconds')}\t{g.recorded_by}\t"
            f"{g.closed_by_article or '-'}\t{g.title}\t{' | '.join(g.examples)}"
        )


@click.group("usage")
def usage_group() -> None:
    """Usage data maintenance and export."""


@usage_group.command("export-eval")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Tickets with an outcome from this day on.")
@click.pass_context
def export_eval(ctx: click.Context, folder: Path, since: Any) -> None:
    """Write articles.jsonl + queries.jsonl for `kbassist eval --dataset FOLDER` from solved, linked tickets."""
    settings = service_settings_from(ctx)
    try:
        entries = read_entries(settings.content_dir)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    articles = [e.article for e in entries if e.article is not None and e.article.status == "published"]
    start = day_start(since.date(), ZoneInfo(settings.usage_time_zone)) if since else None
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        suggestions = load_suggestions(session=session, since=None, until=None, with_query=True)
        links = load_events(session=session, since=None, until=None, types=LINK_TYPES)
        outcomes = load_outcomes(session=session, since=start, until=None)
    ids = {a.id for a in articles}
    labels, tickets = labelled_queries(suggestions, links, outcomes, ids, settings.usage_reopen_window_days)
    if not labels:
        raise click.ClickException("no solved ticket with linked articles and a kept query: nothing to export")
    done = write_dataset(folder, articles, labels, tickets)
    click.echo(f"wrote {done.articles} articles and {done.queries} queries from {done.tickets} tickets to {folder}")


@usage_group.command("retention")
@click.option("--days", type=click.IntRange(1), help="Override KB_USAGE_QUERY_RETENTION_DAYS.")
@click.pass_context
def retention(ctx: click.Context, days: int | None) -> None:
    """Blank the masked query text of suggestions older than the retention period (links and counts stay)."""
    settings = service_settings_from(ctx)
    keep = days or settings.usage_query_retention_days
    if keep == 0:
        click.echo("KB_USAGE_QUERY_RETENTION_DAYS is 0: query text is kept")
        return
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        changed = crud.blank_old_queries(session=session, before=utcnow() - timedelta(days=keep))
    click.echo(f"blanked the query text of {changed} suggestion(s) older than {keep} days")


COMMANDS = (agents_group, report_cmd, flags_group, gaps_group, usage_group)
