"""Credits commands: ``credits sync|verify|balance|ledger|leaderboard|statement|adjust|explain|rules``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlmodel import Session

from indexer.errors import KBError
from indexer.layout import ARTICLES
from indexer.versions import current_build
from service.config import ServiceSettings, service_settings_from
from service.credits import audit, crud, ledger
from service.credits.rules import Rules, RulesError, load_rules
from service.credits.settle import record_build, settle
from service.credits.statement import current_month, month_bounds, statement_csv
from service.db import migrated_engine
from service.errors import ServiceError


def _rules(settings: ServiceSettings) -> Rules:
    try:
        return load_rules(settings.credits_rules_file)
    except RulesError as exc:
        raise click.ClickException(str(exc)) from exc


def _month(value: str | None, zone: ZoneInfo) -> str:
    if value is None:
        return current_month(zone)
    try:
        month_bounds(value, zone)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a month (YYYY-MM)", param_hint="--period") from exc
    return value


def _build_articles(root: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    folder = current_build(root)
    with (folder / ARTICLES).open(encoding="utf-8") as fh:
        articles = {a["id"]: a for a in map(json.loads, fh)}
    return folder.name, articles


@click.group("credits")
def credits_group() -> None:
    """The points bank (docs/credits.md)."""


@credits_group.command("sync")
@click.option("--no-build", is_flag=True, help="Skip crediting the published build's new article versions.")
@click.pass_context
def sync(ctx: click.Context, no_build: bool) -> None:
    """Credit the published build's new article versions and every usage fact not settled yet."""
    settings = service_settings_from(ctx)
    rules, zone = _rules(settings), ZoneInfo(settings.usage_time_zone)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        if not no_build:
            try:
                version, articles = _build_articles(settings.index_root)
            except (KBError, OSError, ValueError, KeyError) as exc:
                raise click.ClickException(f"cannot read the published build: {exc}") from exc
            written = record_build(session=session, articles=articles, index_version=version, rules=rules, zone=zone)
            click.echo(f"build {version}: {written} publication entr{'y' if written == 1 else 'ies'}")
        done = settle(session=session, rules=rules, window_days=settings.usage_reopen_window_days, zone=zone)
    click.echo(f"settled {done.tickets} ticket(s), {done.votes} vote(s), {done.flags} flag(s): {done.entries} entries")


@credits_group.command("verify")
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Check balances against entries, key uniqueness and reversal chains; exit 1 on any problem."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        problems = audit.verify(session=session)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo("ledger OK")


@credits_group.command("balance")
@click.argument("agent_id")
@click.pass_context
def balance(ctx: click.Context, agent_id: str) -> None:
    """An agent's balance."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        click.echo(str(crud.balance_of(session=session, agent_id=agent_id)))


@credits_group.command("ledger")
@click.argument("agent_id")
@click.option("--period", help="A month, YYYY-MM.")
@click.option("--rule", help="Only this rule id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.pass_context
def ledger_cmd(ctx: click.Context, agent_id: str, period: str | None, rule: str | None, limit: int) -> None:
    """An agent's entries, newest first (tab-separated)."""
    settings = service_settings_from(ctx)
    zone = ZoneInfo(settings.usage_time_zone)
    since, until = month_bounds(_month(period, zone), zone) if period else (None, None)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        rows, _ = crud.list_entries(
            session=session, agent_id=agent_id, since=since, until=until, rule_id=rule, limit=limit
        )
    click.echo("id\tcreated_at\tpoints\trule_id\treason")
    for e in rows:
        click.echo(f"{e.id}\t{e.created_at.isoformat()}\t{e.points}\t{e.rule_id}\t{e.reason}")


@credits_group.command("leaderboard")
@click.option("--period", help="A month, YYYY-MM (default: this month).")
@click.option("--team", help="Only this team.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.pass_context
def leaderboard(ctx: click.Context, period: str | None, team: str | None, limit: int) -> None:
    """Agents by points earned in a month."""
    settings = service_settings_from(ctx)
    zone = ZoneInfo(settings.usage_time_zone)
    since, until = month_bounds(_month(period, zone), zone)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        rows = crud.leaderboard(session=session, since=since, until=until, team=team, limit=limit)
    click.echo("rank\tagent_id\tteam\tpoints")
    for n, (agent, agent_team, points) in enumerate(rows, 1):
        click.echo(f"{n}\t{agent}\t{agent_team or '-'}\t{points}")


@credits_group.command("statement")
@click.option("--period", help="A month, YYYY-MM (default: this month).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not stdout.")
@click.pass_context
def statement(ctx: click.Context, period: str | None, output: Path | None) -> None:
    """The monthly statement CSV: one row per agent and rule, then each agent's TOTAL."""
    settings = service_settings_from(ctx)
    zone = ZoneInfo(settings.usage_time_zone)
    month = _month(period, zone)
    since, until = month_bounds(month, zone)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        text = statement_csv(month, crud.statement_rows(session=session, since=since, until=until))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@credits_group.command("adjust")
@click.argument("agent_id")
@click.argument("points", type=int)
@click.option("--reason", required=True, help="Why (mandatory; shown to the agent).")
@click.option("--actor", required=True, envvar="USER", help="Who makes the adjustment (default: $USER).")
@click.option("--key", help="Idempotency key: a retry with it writes nothing new.")
@click.pass_context
def adjust(ctx: click.Context, agent_id: str, points: int, reason: str, actor: str, key: str | None) -> None:
    """A manual adjustment of whole points (not 0), recorded with its reason and actor."""
    if points == 0:
        raise click.BadParameter("must not be 0", param_hint="POINTS")
    if not reason.strip():
        raise click.BadParameter("a reason is required", param_hint="--reason")
    settings = service_settings_from(ctx)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        try:
            entry, after = ledger.adjust(
                session=session,
                agent_id=agent_id,
                points=points,
                reason=reason.strip(),
                actor=f"cli:{actor}",
                key=key,
                rules=_rules(settings),
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"entry {entry.id}: {entry.points:+d} for {agent_id}; balance {after}")


@credits_group.command("explain")
@click.argument("entry_id", type=int)
@click.pass_context
def explain(ctx: click.Context, entry_id: int) -> None:
    """An entry and the facts that produced it, as JSON."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        found = audit.explain(session=session, entry_id=entry_id)
    if found is None:
        raise click.ClickException(f"entry {entry_id} not found")
    click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))


@credits_group.command("rules")
@click.pass_context
def rules_cmd(ctx: click.Context) -> None:
    """Validate the rules file and print its version and rules."""
    rules = _rules(service_settings_from(ctx))
    click.echo(f"{rules.source} version {rules.version}")
    for rule in rules.rules.values():
        click.echo(f"{rule.id}\t{json.dumps(rule.params, ensure_ascii=False)}\tdaily_cap={rule.daily_cap}")


COMMANDS = (credits_group,)
