"""The dashboard and the monthly report in a real browser: Debian's headless Chromium driven by Playwright.

The page runs against a live server on a generated month (the usage benchmark's generator),
on SQLite and PostgreSQL: every chart draws one point per row of its section, the pickers
change the figures, the hostile strings run nothing, the page fits 1,280 px and switches
language. The monthly report, written by the CLI, opens from a file with no request at all.
The SQLite run takes the screenshot the README shows (written to docs/dashboard.png with KB_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.credits.statement import current_month
from tests.conftest import FakeEmbedder
from tests.dashboard.conftest import HOSTILE_TEAM, MONTH
from tests.security.conftest import Live, serving
from tests.service.conftest import make_settings, run
from tests.sidebar.test_browser import SCREENSHOTS, _chromium_or_skip, launched_chromium

SCREENSHOT = SCREENSHOTS / "dashboard.png"
WIDTH = 1280
# Points drawn per chart: the first series' data (the link-rate chart's second series is the target line).
POINTS = """
(id) => {
  const chart = echarts.getInstanceByDom(document.querySelector(`[data-chart="${id}"] .chart`));
  return chart.getOption().series.map((s) => s.data.length);
}
"""
SHOW_TIP = """
async (index) => {
  const el = document.querySelector('[data-chart="team-points"] .chart');
  echarts.getInstanceByDom(el).dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: index });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const tips = [...el.querySelectorAll("div")].filter((d) => d.textContent.includes("组"));
  const tip = tips[tips.length - 1];
  return { text: tip ? tip.textContent : "", images: tip ? tip.querySelectorAll("img").length : -1 };
}
"""
ROWS = '(id) => document.querySelectorAll(`[data-chart="${id}"] tbody tr`).length'


@pytest.fixture(scope="module")
def live(month_url: str, shared_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _chromium_or_skip()
    settings = make_settings(tmp_path_factory.mktemp("data"), month_url, shared_index)
    with serving(settings.model_copy(update={"credits_settle_seconds": 0.0})) as server:
        yield server


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(live: Live, browser: Any) -> Iterator[Any]:
    origin = f"http://{live.host}:{live.port}"
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="zh-CN", accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.dialogs = []
    page.console_errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.origin = origin
    try:
        yield page
    finally:
        context.close()


def open_dashboard(page: Any, live: Live, role: str = "editor") -> None:
    page.goto(f"{page.origin}/dashboard")
    page.fill("#key-input", live.key(role))
    page.click("#key-form button[type=submit]")
    page.wait_for_function("() => document.body.dataset.loaded !== undefined")


def section(live: Live, chart: str, **params: str) -> dict[str, Any]:
    response = live.http.get(
        f"/v1/dashboard/charts/{chart}", params={"month": MONTH, **params}, headers={"X-API-Key": live.key("admin")}
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_loaded(page: Any, **params: str) -> None:
    expected = "&".join(f"{k}={v}" for k, v in params.items())
    page.wait_for_function("q => document.body.dataset.loaded === q", arg=expected)


def test_the_page_draws_every_chart_of_the_generated_month(page, live):
    open_dashboard(page, live)
    assert page.evaluate("document.cookie") == ""
    assert page.locator("#month").input_value() == current_month(ZoneInfo("Asia/Shanghai"))  # newest month first
    page.select_option("#month", MONTH)
    wait_loaded(page, month=MONTH, trend="day")
    catalog = live.http.get("/v1/dashboard", headers={"X-API-Key": live.key("editor")}).json()
    for chart in catalog["charts"]:
        rows = section(live, chart["id"])["rows"]
        points = page.evaluate(POINTS, chart["id"])
        assert points[0] == len(rows), chart["id"]
        assert page.evaluate(ROWS, chart["id"]) == len(rows), chart["id"]
        if chart["id"] != "stale-in-use" or rows:
            assert len(rows) > 0, chart["id"]
    assert page.evaluate(POINTS, "link-rate") == [30, 30]  # one per day of November, and the target line
    assert page.evaluate(POINTS, "funnel") == [5]
    assert page.evaluate(POINTS, "reuse") == [3]
    assert section(live, "stale-in-use")["rows"][0][0] == "shipping-fee-refund"
    assert "%" in page.locator('[data-kpi="link_rate"] .kpi-value').text_content()
    assert page.locator("#summary-text").text_content().startswith(f"{MONTH}（全部团队）：知识库关联率")

    if "sqlite" in live.app.state.settings.database_url:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=False)

    # The tooltip is the one HTML ECharts builds: show it on the hostile team's bar.
    index = [r[0] for r in section(live, "team-points")["rows"]].index(HOSTILE_TEAM)
    tip = page.evaluate(SHOW_TIP, index)
    assert HOSTILE_TEAM in tip["text"] and tip["images"] == 0
    assert page.evaluate("window.__xss") is None and page.dialogs == []
    assert HOSTILE_TEAM in page.locator('[data-chart="team-points"] tbody').text_content()
    assert page.locator('[data-chart="flags"] tbody img, [data-chart="gaps"] tbody img').count() == 0
    assert page.console_errors == []


def test_the_pickers_change_the_figures(page, live):
    open_dashboard(page, live)
    page.select_option("#month", MONTH)
    wait_loaded(page, month=MONTH, trend="day")
    rate = page.locator('[data-chart="link-rate"] tbody tr').first.text_content()
    leaders = page.locator('[data-chart="leaderboard"] tbody').text_content()

    asked: list[str] = []
    page.on("request", lambda r: "/v1/dashboard/" in r.url and asked.append(r.url))
    page.select_option("#team", "team01")
    wait_loaded(page, month=MONTH, trend="day", team="team01")
    charts = {url.split("/charts/")[1].split("?")[0] for url in asked if "/charts/" in url}
    assert charts == {"link-rate", "leaderboard"}  # the KB-wide charts keep their figures
    assert page.locator('[data-chart="link-rate"] tbody tr').first.text_content() != rate
    team_rows = section(live, "leaderboard", team="team01")["rows"]
    assert {r[2] for r in team_rows} == {"team01"}
    assert page.evaluate(POINTS, "leaderboard") == [len(team_rows)]
    assert page.locator('[data-chart="leaderboard"] tbody').text_content() != leaders
    assert page.locator('[data-chart="funnel"] .kb-wide').is_visible()  # the funnel has no team split
    assert page.locator('[data-chart="link-rate"] .kb-wide').is_hidden()

    page.select_option("#trend", "week")
    wait_loaded(page, month=MONTH, trend="week", team="team01")
    weeks = section(live, "link-rate", trend="week", team="team01")["rows"]
    assert [r[0] for r in weeks][:2] == ["2026-W44", "2026-W45"] and page.evaluate(POINTS, "link-rate")[0] == len(weeks)

    page.select_option("#month", "2026-10")
    wait_loaded(page, month="2026-10", trend="week", team="team01")
    assert page.evaluate(POINTS, "funnel") == [5]
    assert page.evaluate(POINTS, "top-articles") == [len(section(live, "top-articles", month="2026-10")["rows"])]


def test_csv_download_and_the_write_this_article_hand_off(page, live):
    open_dashboard(page, live)
    page.select_option("#month", MONTH)
    wait_loaded(page, month=MONTH, trend="day")
    with page.expect_download() as info:
        page.locator('[data-chart="reuse"] .csv').click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = section(live, "reuse")["rows"]
    assert text.splitlines()[0] == "kind,links,share"
    assert text.splitlines()[1] == ",".join(str(v) for v in rows[0])

    gaps = section(live, "gaps")
    page.locator('[data-chart="gaps"] [data-action="write"]').first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == gaps["extra"]["skeletons"][0] and "status: draft" in copied and "gap:" not in copied
    page.locator('[data-chart="gaps"] [data-action="record"]').first.click()
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('gap-')")
    recorded = section(live, "gaps")
    assert recorded["rows"][0][4] == "open"
    page.locator('[data-chart="gaps"] [data-action="write"]').first.click()
    assert f"gap: {recorded['rows'][0][3]}" in page.evaluate("navigator.clipboard.readText()")


def test_the_page_fits_1280_px_switches_language_and_prints(page, live):
    open_dashboard(page, live)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert page.locator('[data-chart="funnel"] .chart-title').text_content() == "采纳漏斗"
    page.click("#lang-toggle")
    assert page.locator('[data-chart="funnel"] .chart-title').text_content() == "Adoption funnel"
    assert page.locator('[data-chart="funnel"] thead').text_content().startswith("Stage")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.emulate_media(media="print")
    assert page.locator("#pickers").is_hidden() and page.locator(".csv").first.is_hidden()
    assert page.locator('[data-chart="funnel"] table').is_visible()


def test_agent_keys_are_refused(page, live):
    page.goto(f"{page.origin}/dashboard")
    page.fill("#key-input", live.key("agent", "li.na"))
    page.click("#key-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#key-form .hint').textContent.includes('编辑')")
    assert page.is_visible("#key-form") and page.is_hidden("#work")
    assert page.evaluate("sessionStorage.getItem('kbassist.dashboard.key')") is None


def test_the_monthly_report_opens_offline(browser, live, tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.factory.make_embedder", lambda settings, threads=None: FakeEmbedder())
    out = tmp_path / "report.html"
    settings = live.app.state.settings
    result = run(settings, "report", "monthly", "--month", MONTH, "--out", str(out))
    assert result.exit_code == 0, result.output
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, offline=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        page.goto(out.as_uri())
        page.wait_for_function("() => document.body.dataset.charts === '10'")
        assert requests == [out.as_uri()]
        assert page.evaluate(POINTS, "funnel") == [5]
        assert page.evaluate(POINTS, "link-rate") == [30, 30]
        assert page.evaluate("window.__xss") is None
        assert errors == []
    finally:
        context.close()
