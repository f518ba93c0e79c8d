"""The monthly report as one self-contained HTML file (and a PDF of it, printed by Chromium).

The file carries everything it shows: the stylesheet, Apache ECharts and the chart code are
inlined, the figures are a JSON block, and the tables are plain HTML rendered here, so the
numbers read even where scripts do not run. A Content-Security-Policy ``<meta>`` admits only
those inline blocks (by hash) and no source at all, so opening the file makes no request.
Every value from the data goes through :func:`html.escape` (tables) or the JSON block.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.dashboard.catalog import BY_ID, CHARTS
from service.dashboard.month import Section
from service.pages import STATIC

SCRIPTS = ("echarts.min.js", "dashboard-charts.js", "dashboard-report.js")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return html.escape(str(value))


def _table(section: Section) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in section.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_cell(v)}</td>'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{_cell(v)}</td>"
            for v in row
        )
        + "</tr>"
        for row in section.rows
    )
    return f'<table class="numbers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(section: Section, team: str | None) -> str:
    chart = BY_ID[section.id]
    title = f"{html.escape(chart.title_zh)} · {html.escape(chart.title_en)}"
    badge = '<span class="badge">全知识库 · whole KB</span>' if team and not section.team_scoped else ""
    note = f'<p class="chart-note muted">{html.escape(section.note)}</p>' if section.note else ""
    skeletons = ""
    if section.id == "gaps":
        skeletons = "".join(
            f'<details class="skeleton-box"><summary>写这篇文章 · write this article: {_cell(row[1])}</summary>'
            f"<pre>{html.escape(text)}</pre></details>"
            for row, text in zip(section.rows, section.extra.get("skeletons", []), strict=False)
        )
    return (
        f'<section class="card chart-card" data-chart="{html.escape(section.id)}">'
        f'<div class="chart-head"><h2 class="chart-title">{title}</h2>{badge}</div>{note}'
        f'<div class="chart-body"><div class="chart" role="img" aria-label="{html.escape(chart.title_en)}"></div>'
        f'<div class="table-wrap">{_table(section)}</div></div>{skeletons}'
        f'<p class="definition hint">{html.escape(section.definition)}</p></section>'
    )


def _json_block(data: Any) -> str:
    # "<" never appears raw, so no "</script>" or "<!--" in the data can end or bend the block.
    return json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c")


def report_html(
    *,
    month: str,
    team: str | None,
    time_zone: str,
    generated: str,
    sections: Sequence[Section],
    summary: dict[str, Any],
    lang: str = "zh",
) -> str:
    """The report page for ``sections`` (catalog order) and ``summary`` (``summary.summarize``)."""
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    scripts = [(STATIC / name).read_text(encoding="utf-8") for name in SCRIPTS]
    charts = [
        {
            "id": c.id,
            "kind": c.kind,
            "x": c.x,
            "y": list(c.y),
            "team": c.team,
            "title_zh": c.title_zh,
            "title_en": c.title_en,
        }
        for c in CHARTS
    ]
    data = {"lang": lang, "team": team, "charts": charts, "sections": {s.id: s.as_json() for s in sections}}
    policy = (
        f"default-src 'none'; script-src {' '.join(_hash(s) for s in scripts)}; style-src {_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    who = f"团队 {html.escape(team)} · team {html.escape(team)}" if team else "全部团队 · all teams"
    text = summary["text"]
    body = "".join(_section(s, team) for s in sections)
    return (
        f'<!doctype html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>知识库月报 {html.escape(month)} · KB monthly report</title><style>{css}</style></head>"
        f'<body class="report"><header class="bar report-head"><div>'
        f"<h1>知识库月报 {html.escape(month)} · KB monthly report {html.escape(month)}</h1>"
        f'<p class="muted">{who} · {html.escape(time_zone)} · {html.escape(generated)}</p></div></header>'
        f'<section class="card summary" id="summary"><h2>本月摘要 · Summary</h2>'
        f'<p lang="zh-CN" id="summary-zh">{html.escape(text["zh"])}</p>'
        f'<p lang="en" id="summary-en">{html.escape(text["en"])}</p></section>'
        f'<div id="charts">{body}</div>'
        f'<script type="application/json" id="report-data">{_json_block(data)}</script>'
        + "".join(f"<script>{s}</script>" for s in scripts)
        + "</body></html>\n"
    )


def chromium() -> str:
    """The path of an installed Chromium (Debian's ``chromium`` package), or FileNotFoundError."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("--format pdf prints with Chromium: install it (apt-get install chromium)")


def print_pdf(page: str, out: Path, *, timeout: float = 120.0) -> None:
    """Print the report ``page`` to ``out`` with headless Chromium (no network: the page needs none).

    Raises:
        FileNotFoundError: no Chromium installed.
        RuntimeError: Chromium failed or wrote no PDF.
    """
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="kbassist-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        target = Path(tmp) / "report.pdf"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--virtual-time-budget=10000",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            raise RuntimeError(f"Chromium could not print the report (exit {done.returncode}): {done.stderr[-500:]}")
        out.write_bytes(target.read_bytes())
