"""``kbassist report monthly``: the month's dashboard as a self-contained HTML file, JSON or PDF.

``kbassist report`` belongs to the usage domain (one report by name); :func:`with_monthly`
turns it into a group that adds ``monthly`` and passes every other name to it unchanged.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from indexer.errors import KBError
from indexer.factory import load_retriever
from service.config import service_settings_from
from service.dashboard.month import Content, Scope
from service.dashboard.render import print_pdf, report_html
from service.dashboard.report import monthly_report
from service.db import migrated_engine

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _content(settings: Any) -> Content:
    try:
        return Content.of(load_retriever(settings))
    except (KBError, OSError, RuntimeError, ValueError) as exc:  # no build, or its model cannot load here
        click.echo(f"warning: no serving build ({exc}); gaps, never-used and stale sections are empty", err=True)
        return Content.of(None)


@click.command("monthly")
@click.option("--month", required=True, help="The month, YYYY-MM (KB_USAGE_TIME_ZONE).")
@click.option("--team", help="Narrow the team-scoped figures (link rate, adoption, leaderboard, points).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here (json: default stdout).")
@click.option("--format", "fmt", type=click.Choice(("html", "json", "pdf")), default="html", show_default=True)
@click.option("--trend", type=click.Choice(("day", "week")), default="day", show_default=True)
@click.option("--lang", type=click.Choice(("zh", "en")), default="zh", show_default=True, help="Chart labels.")
@click.pass_context
def monthly_cmd(
    ctx: click.Context, month: str, team: str | None, out: Path | None, fmt: str, trend: Any, lang: str
) -> None:
    """The month's dashboard with a summary against the previous month (docs/dashboard.md)."""
    if not MONTH_RE.match(month):
        raise click.BadParameter(f"{month!r} is not a month (YYYY-MM)", param_hint="--month")
    if out is None and fmt != "json":
        raise click.BadParameter(f"--format {fmt} writes a file: give its path", param_hint="--out")
    settings = service_settings_from(ctx)
    scope = Scope.of(settings, month, team=team, trend=trend, today=date.today())
    content = _content(settings)
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        report = monthly_report(session=session, scope=scope, content=content)
    if fmt == "json":
        text = json.dumps(report.as_json(settings.usage_time_zone), ensure_ascii=False, indent=2, default=str)
        if out is None:
            click.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
        return
    assert out is not None
    page = report_html(
        month=month,
        team=team,
        time_zone=settings.usage_time_zone,
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
        sections=report.sections,
        summary=report.summary,
        lang=lang,
    )
    if fmt == "html":
        out.write_text(page, encoding="utf-8")
    else:
        try:
            print_pdf(page, out)
        except (FileNotFoundError, RuntimeError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out}")


class _ReportGroup(click.Group):
    """``report monthly`` plus every name of the usage ``report`` command, passed to it as before."""

    def __init__(self, usage_report: click.Command) -> None:
        super().__init__("report", help=f"{usage_report.help or ''}\n\nOr `report monthly`: the month's dashboard.")
        self.usage_report = usage_report
        self.add_command(monthly_cmd)
        name = next((p for p in usage_report.params if p.name == "name"), None)
        self.report_names = tuple(getattr(name.type, "choices", ())) if name is not None else ()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.report_names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.report_names:
            return found
        usage = self.usage_report

        @click.pass_context
        def run(sub: click.Context, /, **options: Any) -> None:
            sub.invoke(usage, name=cmd_name, **options)

        params = [p for p in usage.params if p.name != "name"]
        return click.Command(cmd_name, params=params, callback=run, help=usage.help)


def with_monthly(usage_report: click.Command) -> click.Group:
    """``usage_report`` (``kbassist report NAME``) as a group that also has ``monthly``.

    A ``report`` that is a group already gets ``monthly`` added to it.
    """
    if isinstance(usage_report, click.Group):
        usage_report.add_command(monthly_cmd)
        return usage_report
    return _ReportGroup(usage_report)
