"""`kbassist report monthly` on the generated month: its figures are those of `kbassist report NAME --format json`.

Each section is checked against the report (or `credits leaderboard`) it cuts, run by the CLI
for the same days, on SQLite and PostgreSQL; the HTML file shows the figures of the JSON.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from service.config import ServiceSettings
from service.usage.models import FUNNEL
from tests.conftest import KB_MINI, FakeEmbedder
from tests.dashboard.conftest import MONTH
from tests.service.conftest import run
from tests.sidebar.test_browser import CHROMIUM

DAYS = ("--since", "2026-11-01", "--until", "2026-11-30")


@pytest.fixture
def settings(month_url, shared_index, tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.factory.make_embedder", lambda settings, threads=None: FakeEmbedder())
    return ServiceSettings(
        content_dir=KB_MINI, data_dir=tmp_path / "data", index_dir=shared_index, database_url=month_url
    )


def report(settings, name: str, *args: str) -> list[dict]:
    result = run(settings, "report", name, *DAYS, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["rows"]


def monthly(settings, *args: str) -> dict:
    result = run(settings, "report", "monthly", "--month", MONTH, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {**data, "sections": {s["id"]: s for s in data["sections"]}}


def leaderboard(settings, *args: str) -> list[list[str]]:
    result = run(settings, "credits", "leaderboard", "--period", MONTH, "--limit", "10", *args)
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()[1:]]


def test_monthly_figures_equal_the_reports_of_the_same_days(settings):
    data = monthly(settings)
    s = data["sections"]
    [month_row] = [r for r in report(settings, "link-rate", "--period", "month") if r["period"] == MONTH]
    assert (s["link-rate"]["extra"]["closed"], s["link-rate"]["extra"]["linked"]) == (
        month_row["closed"],
        month_row["linked"],
    )
    assert s["link-rate"]["extra"]["link_rate"] == month_row["link_rate"]
    days = [r for r in report(settings, "link-rate", "--period", "day") if r["period"].startswith(MONTH)]
    assert s["link-rate"]["rows"] == [[d["period"], d["closed"], d["linked"], d["link_rate"]] for d in days]

    overall = report(settings, "funnel")[0]
    assert [r[1] for r in s["funnel"]["rows"]] == [overall[stage] for stage in FUNNEL]
    [adoption] = report(settings, "adoption", "--period", "month")
    assert (
        s["funnel"]["extra"]["adoption"] == adoption["adoption"]
        and data["summary"]["current"]["adoption"] == (adoption["adoption"])
    )
    assert s["reuse"]["rows"] == [[r["kind"], r["links"], r["share"]] for r in report(settings, "reuse")]

    articles = report(settings, "articles")
    used = [a for a in articles if a["uses"] > 0]
    assert [(r[0], r[2]) for r in s["top-articles"]["rows"]] == [(a["article_id"], a["uses"]) for a in used[:10]]
    assert [r[0] for r in s["stale-in-use"]["rows"]] == ["shipping-fee-refund"]
    assert [a["article_id"] for a in articles if a["stale"] and a["uses"]] == ["shipping-fee-refund"]
    never = {i for r in s["never-used"]["rows"] for i in r[2].split(", ")}
    assert never == {"en-order-cancel", "internal-soothing"}  # kb_mini's published articles the month never used

    gaps = report(settings, "gaps")
    assert [(r[0], r[3], r[4]) for r in s["gaps"]["rows"]] == [
        (g["queries"], g["gap_id"], g["recorded"]) for g in gaps
    ][:10]
    assert s["gaps"]["extra"]["groups"] == len(gaps)
    flags = report(settings, "flags")
    assert [(r[0], r[1]) for r in s["flags"]["rows"]] == [(f["article_id"], f["open_flags"]) for f in flags[:10]]

    assert [[str(v) if v is not None else "-" for v in r] for r in s["leaderboard"]["rows"]] == leaderboard(settings)
    assert data["summary"]["current"]["closed"] == month_row["closed"]
    assert data["summary"]["before"]["closed"] == 3 and data["summary"]["before"]["linked"] == 2
    assert "2026-10 为 66.7%" in data["summary"]["text"]["zh"] and "2026-10: 66.7%" in data["summary"]["text"]["en"]


def test_monthly_for_a_team_narrows_the_team_figures_only(settings):
    data = monthly(settings, "--team", "team01")
    s = data["sections"]
    [team_row] = [
        r for r in report(settings, "link-rate", "--period", "month", "--group-by", "team")
        if r["group"] == "team01" and r["period"] == MONTH
    ]  # fmt: skip
    assert (s["link-rate"]["extra"]["closed"], s["link-rate"]["extra"]["link_rate"]) == (
        team_row["closed"],
        team_row["link_rate"],
    )
    [adoption] = [
        r for r in report(settings, "adoption", "--period", "month", "--group-by", "team") if r["group"] == "team01"
    ]
    assert s["funnel"]["extra"]["adoption"] == adoption["adoption"]
    assert [[str(v) for v in r] for r in s["leaderboard"]["rows"]] == leaderboard(settings, "--team", "team01")
    everyone = monthly(settings)["sections"]
    assert s["reuse"] == everyone["reuse"] and s["team-points"] == everyone["team-points"]  # KB-wide charts
    assert s["link-rate"]["team_scoped"] and not s["reuse"]["team_scoped"]


class _Tables(HTMLParser):
    """The text of every table cell of the report, per section, and the JSON block."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.section: str | None = None
        self.cell: list[str] | None = None
        self.in_body = False
        self.json = ""
        self.in_json = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-chart" in attrs:
            self.section = attrs["data-chart"]
            self.rows[self.section] = []
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows[self.section].append([])
        elif tag == "td" and self.in_body:
            self.cell = []
        elif tag == "script" and attrs.get("id") == "report-data":
            self.in_json = True

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[self.section][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "script":
            self.in_json = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.in_json:
            self.json += data


def shown(value) -> str:
    if value is None or value == "":
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_html_report_shows_the_json_figures(settings, tmp_path):
    out = tmp_path / "report.html"
    result = run(settings, "report", "monthly", "--month", MONTH, "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    data = monthly(settings)
    tables = _Tables()
    tables.feed(page)
    for section in data["sections"].values():
        assert tables.rows[section["id"]] == [[shown(v) for v in row] for row in section["rows"]], section["id"]
    embedded = json.loads(tables.json)
    assert {k: v["rows"] for k, v in embedded["sections"].items()} == {
        k: v["rows"] for k, v in data["sections"].items()
    }
    assert data["summary"]["text"]["en"].replace("&", "&amp;") in page
    assert re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", page) == []  # nothing to fetch
    assert "default-src 'none'" in page and "unsafe-inline" not in page
    assert "<img src=x" not in page  # the hostile strings are escaped


def test_monthly_html_for_a_team_in_english(settings, tmp_path):
    out = tmp_path / "team.html"
    args = ("--month", MONTH, "--team", "team01", "--lang", "en", "--trend", "week", "--out", str(out))
    assert run(settings, "report", "monthly", *args).exit_code == 0
    tables = _Tables()
    tables.feed(out.read_text(encoding="utf-8"))
    embedded = json.loads(tables.json)
    assert embedded["lang"] == "en" and embedded["team"] == "team01"
    assert [r[0] for r in tables.rows["link-rate"]][:2] == ["2026-W44", "2026-W45"]
    assert "团队 team01 · team team01" in out.read_text(encoding="utf-8")


def test_monthly_pdf_is_printed_by_chromium(settings, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} missing")
    out = tmp_path / "report.pdf"
    result = run(settings, "report", "monthly", "--month", MONTH, "--format", "pdf", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-13"), "--month"),
        (("--month", "2026-11", "--format", "html"), "--out"),
    ],
)
def test_monthly_refuses_bad_options(settings, args, message):
    result = run(settings, "report", "monthly", *args)
    assert result.exit_code == 2 and message in result.output


def test_usage_reports_still_run_by_name(settings):
    assert report(settings, "reuse")[0]["kind"] == "reuse"
    assert run(settings, "report", "nope").exit_code == 2


def test_monthly_without_a_build_warns_and_says_why_gaps_are_empty(settings, tmp_path):
    bare = settings.model_copy(update={"index_dir": tmp_path / "no-index"})
    result = run(bare, "report", "monthly", "--month", MONTH, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "warning: no serving build" in result.stderr
    gaps = next(s for s in json.loads(result.stdout)["sections"] if s["id"] == "gaps")
    assert gaps["rows"] == [] and "loaded index build" in gaps["note"]
