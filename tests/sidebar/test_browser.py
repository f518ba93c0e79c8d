"""The agent sidebar in a real browser: Debian's headless Chromium driven by Playwright against a live server.

One agent session walks the page the way an agent does (type, read, copy, link, vote, flag,
report a gap, open articles) and each action is checked where it must land: in the
database. The hostile article (tests/service/articles/conftest.py) sets ``window.__xss``
from every construct it carries; opening it must leave the flag unset and fire no dialog.
The run on SQLite takes the screenshot the README shows (written to docs/sidebar.png with KB_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from service.usage.models import UsageEvent
from tests.security.conftest import Live, serving
from tests.service.articles.conftest import XSS_ID, xss_index, xss_kb
from tests.service.conftest import db_url, make_settings

__all__ = ["db_url", "xss_index", "xss_kb"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The README's screenshot is rewritten only when asked (KB_UPDATE_SCREENSHOTS=1): a test run leaves the tree clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs"
    if os.environ.get("KB_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "kbassist-screenshots"
)
SCREENSHOT = SCREENSHOTS / "sidebar.png"
AGENT = "li.na"
TICKET = "T-2026-1202"
WIDTH = 360


def _chromium_or_skip() -> Any:
    """Playwright's sync API, or a skip saying what is missing (a failure under CI=true)."""
    reason = None
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver (scripts/setup.sh does it)"
    try:
        from playwright import sync_api
    except ImportError:
        reason = reason or "playwright missing: pip install -e '.[dev]'"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the browser test: {reason}")
        pytest.skip(reason)
    return sync_api


@pytest.fixture(scope="module")
def live(db_url: str, xss_kb: Path, xss_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _chromium_or_skip()
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, xss_index)
    settings = settings.model_copy(update={"content_dir": xss_kb, "sidebar_frame_ancestors": "'self'"})
    with serving(settings) as server:
        yield server


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, closed afterwards (the dashboard's browser test uses it too)."""
    sync_api = _chromium_or_skip()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(live: Live, browser: Any) -> Iterator[Any]:
    origin = f"http://{live.host}:{live.port}"
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.dialogs = []
    page.console_errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.origin = origin
    try:
        yield page
    finally:
        context.close()


def events(live: Live, **where: str) -> list[UsageEvent]:
    with Session(live.app.state.engine) as session:
        query = select(UsageEvent)
        for name, value in where.items():
            query = query.where(col(getattr(UsageEvent, name)) == value)
        return list(session.exec(query.order_by(col(UsageEvent.id))).all())


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``check()``'s first truthy answer, polled: a browser action lands a moment after the click."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "timed out"
            return value
        time.sleep(0.05)


def sign_in(page: Any, live: Live, query: str = "") -> str:
    """Open the page from a ticket and enter a new agent key; returns the key."""
    key = live.key("agent", AGENT)
    page.goto(f"{page.origin}/sidebar?ticket_id={TICKET}&channel=chat&q={query}")
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#query")
    return key


def search(page: Any, query: str) -> None:
    """Type ``query`` as an agent would and wait until its own answer is on the page."""
    page.fill("#query", "")
    with page.expect_response(lambda r: r.url.endswith("/v1/suggest") and query in (r.request.post_data or "")) as info:
        page.type("#query", query, delay=30)
    suggestion_id = info.value.json()["suggestion_id"]
    page.wait_for_function("id => document.querySelector('#results').dataset.suggestion === id", arg=suggestion_id)


def test_agent_works_a_ticket_in_the_sidebar(page, live):
    key = sign_in(page, live)
    assert page.evaluate("sessionStorage.getItem('kbassist.key')") == key
    assert page.evaluate("document.cookie") == "" and key not in page.url
    page.wait_for_selector("#points", state="visible")  # the points bank answers
    points_before = page.locator("#points-period").text_content()

    search(page, "退款多久到账")
    results = page.locator(".result")
    n = results.count()
    assert n == 5
    first = results.nth(0)
    assert first.locator(".result-title").text_content() == "退款多久到账"
    assert first.locator(".snippet mark").count() >= 1
    assert "refunds" in first.locator(".category").text_content()
    assert first.locator(".placeholder").first.text_content() == "{客户称呼}"
    assert results.nth(1).locator(".stale").is_visible()  # the hostile article's review date has passed
    shown = eventually(lambda: len(events(live, type="shown", agent_id=AGENT)) == n and events(live, type="shown"))
    suggestion_id = shown[0].suggestion_id
    assert {e.rank for e in shown} == set(range(1, n + 1)) and {e.ticket_id for e in shown} == {TICKET}

    if "sqlite" in live.app.state.settings.database_url:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=False)

    first.locator('[data-action="copy"]').click()
    eventually(lambda: events(live, type="copied", suggestion_id=suggestion_id))
    assert page.evaluate("navigator.clipboard.readText()").startswith("{客户称呼}您好")

    page.press("#query", "Escape")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("l")
    linked = eventually(lambda: events(live, type="linked", suggestion_id=suggestion_id))
    assert [(e.article_id, e.rank, e.ticket_id) for e in linked] == [("refund-xss-probe", 2, TICKET)]

    first.locator('[data-action="helpful"]').click()
    results.nth(2).locator('[data-action="not_helpful"]').click()
    eventually(lambda: events(live, type="helpful") and events(live, type="not_helpful"))
    assert first.locator('[data-action="helpful"]').get_attribute("aria-pressed") == "true"

    results.nth(3).locator('[data-action="flag"]').click()
    results.nth(3).locator(".flag-comment").fill("客户电话 13811112222 打不通，步骤过时")
    results.nth(3).locator(".flag-form button[type=submit]").click()
    flagged = eventually(lambda: events(live, type="flagged"))
    assert flagged[0].comment == "客户电话 [PHONE] 打不通，步骤过时"
    # An editor confirms the flag: the points bank credits the agent who raised it, and the panel shows it
    # after the agent's next action (the page refreshes the panel after each one).
    editor = {"X-API-Key": live.key("editor")}
    [flag] = [f for f in live.http.get("/v1/flags", headers=editor).json()["data"] if f["agent_id"] == AGENT]
    assert live.http.post(f"/v1/flags/{flag['id']}/resolve", json={"note": "步骤已更新"}, headers=editor).is_success

    search(page, "火星天气怎么样")
    assert page.is_visible("#gap")
    page.click("#gap-report")
    gap = eventually(lambda: events(live, type="gap_reported"))
    assert gap[0].suggestion_id != suggestion_id and gap[0].rank == 1
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('知识库团队')")
    page.wait_for_function(
        "before => document.querySelector('#points-period').textContent !== before", arg=points_before
    )
    assert any(
        item.startswith("+3 ") and "confirmed" in item for item in page.locator("#points-recent li").all_text_contents()
    )
    assert page.dialogs == []


SLOW_OLD_ANSWER = """
const realFetch = window.fetch;
window.fetch = (url, options) => {
  const answer = realFetch(url, options);
  const body = (options && options.body) || "";
  return body.includes("退款多久到账？") ? new Promise(r => setTimeout(() => r(answer), 1200)) : answer;
};
"""


def test_typing_is_debounced_and_an_older_answer_never_overwrites_a_newer_one(page, live):
    page.add_init_script(SLOW_OLD_ANSWER)
    asked = []
    page.on("request", lambda r: r.url.endswith("/v1/suggest") and asked.append(r.post_data))
    sign_in(page, live)
    page.type("#query", "退款多久到账", delay=40)  # keystrokes closer than the debounce: one suggest
    page.wait_for_function("() => document.querySelectorAll('.result').length === 5")
    page.wait_for_timeout(500)
    assert len(asked) == 1 and "退款多久到账" in asked[0]

    page.fill("#query", "退款多久到账？")  # answered 1.2 s late
    page.wait_for_timeout(450)
    page.fill("#query", "火星天气怎么样")
    page.wait_for_selector("#gap:not([hidden])")
    page.wait_for_timeout(1500)
    assert len(asked) == 3
    assert page.is_visible("#gap")


def test_hostile_article_runs_nothing(page, live):
    sign_in(page, live, query="退款到账说明")
    page.wait_for_selector(".result")
    titles = page.locator(".result-title").all_text_contents()
    index = titles.index("退款到账说明")
    page.locator(".result").nth(index).locator('[data-action="open"]').click()
    page.wait_for_selector("#article:not([hidden])")
    assert page.locator("#article-title").text_content() == "退款到账说明"
    body = page.locator("#article-body")
    assert "订单详情" in body.text_content()
    assert body.locator("script").count() == 0 and body.locator("[onerror]").count() == 0
    body.locator("text=覆盖").hover()
    body.locator("text=点这里").click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
    eventually(lambda: events(live, type="opened", article_id=XSS_ID))
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

    body.locator("a[href='#kb:refund-arrival']").click()
    page.wait_for_function("() => document.querySelector('#article-title').textContent === '退款多久到账'")
    page.click("#article-back")
    assert page.is_visible("#results")


def test_page_fits_360_px_and_switches_language(page, live):
    sign_in(page, live, query="退款多久到账")
    page.wait_for_selector(".result")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert page.locator('.result [data-action="copy"]').first.text_content() == "复制"
    page.click("#lang-toggle")
    assert page.locator('.result [data-action="copy"]').first.text_content() == "Copy"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    boxes = page.locator(".result .actions button").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)")
    assert max(boxes) <= WIDTH


CONTRAST = """
(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) { return c.slice(0, 3); }
    }
    return [255, 255, 255];
  };
  return selectors.map((s) => {
    const el = document.querySelector(s);
    const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(background(el))];
    return [s, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""
TEXT_ELEMENTS = [
    ".result-title",
    ".snippet",
    ".snippet mark",
    ".category",
    ".answer",
    ".placeholder",
    ".answer-label",
    ".badge.stale",
    "#status",
    '.result [data-action="copy"]',
    '.result [data-action="open"]',
    "#points-period",
    "#lang-toggle",
]


def test_text_has_readable_contrast(page, live):
    sign_in(page, live, query="退款到账说明")
    page.wait_for_selector(".result .placeholder")
    low = [(s, round(r, 2)) for s, r in page.evaluate(CONTRAST, TEXT_ELEMENTS) if r < 4.5]
    assert low == []  # WCAG AA for body text


def test_points_panel_stays_hidden_without_a_points_bank(page, live):
    page.route("**/v1/credits/me", lambda route: route.fulfill(status=404, body="{}"))
    sign_in(page, live, query="退款多久到账")
    page.wait_for_selector(".result")
    page.locator('.result [data-action="helpful"]').first.click()
    page.wait_for_function("() => document.querySelector('.result-note').textContent !== ''")
    assert page.is_hidden("#points")


def test_a_wrong_key_is_forgotten_and_asked_again(page, live):
    page.goto(f"{page.origin}/sidebar?q=退款")
    page.fill("#key-input", "kb_not_a_real_key")
    page.click("#key-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#key-form .hint').textContent.includes('密钥无效')")
    assert page.is_visible("#key-form") and page.is_hidden("#work")
    assert page.evaluate("sessionStorage.getItem('kbassist.key')") is None
