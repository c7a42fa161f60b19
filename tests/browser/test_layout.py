"""Every main page at 1280x800 and at 200 % zoom (a 640 px-wide viewport: what 1280 px shows
at 200 %) in Chromium: no sideways scrolling, the navigation on screen, a skip link first,
a visible focus, reports' charts beside or below their tables but never over them, and /docs
drawn from local files within the CSP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import col, select

from app.accounts.models import Account
from app.auth.models import User
from app.cellsearch.models import CellSearch
from app.takedowns.models import Takedown
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import screenshot_dir, sign_in
from tests.reports.conftest import build_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

VIEWPORTS = [(1280, 800), (640, 800)]
PAGES = ["/", "/accounts", "/accounts/new", "/intake", "/review", "/takedowns", "/searches",
         "/search", "/estate", "/reports", "/reports?start=2024-12-01&end=2025-07-31",
         "/matching/queue", "/account/keys", "/account/password", "/docs"]

SIDEWAYS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
# boxes of each report table and chart shown side by side, as [left, top, right, bottom]
PAIRS = """() => [...document.querySelectorAll('.report-pair')].map(pair =>
  [...pair.children].map(el => { const r = el.getBoundingClientRect();
    return {tag: el.tagName, box: [r.left, r.top, r.right, r.bottom],
            clipped: el.scrollWidth > el.clientWidth + 1,
            region: el.classList.contains('table-scroll') && el.tabIndex === 0
                    && el.getAttribute('role') === 'region' && !!el.getAttribute('aria-label'),
            broken: [...el.querySelectorAll('th')].filter(th => {
              const range = document.createRange(); range.selectNodeContents(th);
              const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              return lines.size > th.textContent.trim().split(/\\s+/).length; })
              .map(th => th.textContent)}; }))"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _check_page(page: Page, url: str, width: int) -> list[str]:
    problems = []
    answer = page.goto(url)
    if answer is None or answer.status != 200:
        return [f"{url} answered {answer.status if answer else 'nothing'}"]
    page.wait_for_load_state("load")
    scroll, client = page.evaluate(SIDEWAYS)
    if scroll > client:
        problems.append(f"{url} at {width}px scrolls sideways ({scroll} > {client})")
    for link in page.locator("header nav a").all():
        box = link.bounding_box()
        if box is None or box["x"] < 0 or box["x"] + box["width"] > width:
            problems.append(f"{url} at {width}px: nav link {link.inner_text()!r} off screen")
    return problems


def test_main_pages_fit_at_1280_and_at_200_percent_zoom(
        browser: Browser, live_server: LiveServer, tmp_path: Path) -> None:
    live_server.db.create_user("sup", "supervisor")
    with live_server.db.session() as db:
        sup = db.exec(select(User).where(User.username == "sup")).one()
        build_data(db, sup.id or 0)  # the reports' tables and charts have rows
        db.commit()
        # and a page of each kind that shows one record
        account = db.exec(select(Account).order_by(col(Account.id))).first()
        takedown = db.exec(select(Takedown).order_by(col(Takedown.id))).first()
        search = db.exec(select(CellSearch).order_by(col(CellSearch.id))).first()
        assert account and takedown and search
        details = [f"/accounts/{account.id}", f"/takedowns/{takedown.id}",
                   f"/searches/{search.id}", "/estate/MDI", "/estate/MDI/cells/A-1-001",
                   "/estate/prisoners/A1234BC", "/takedowns/platforms"]
    live_server.db.create_user("aud", "auditor")
    live_server.db.create_user("adm", "admin")
    shots, problems = screenshot_dir(tmp_path), []
    for width, height in VIEWPORTS:
        for user, paths in (("aud", ["/", "/audit", "/reports"]), ("adm", ["/", "/admin/users"])):
            other = browser.new_context(viewport={"width": width, "height": height})
            try:
                signed_in = other.new_page()
                sign_in(signed_in, live_server, user, GOOD_PASSWORD)
                for path in paths:
                    problems += _check_page(signed_in, live_server.url + path, width)
            finally:
                other.close()
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            sign_in(page, live_server, "sup", GOOD_PASSWORD)
            for path in PAGES + details:
                problems += _check_page(page, live_server.url + path, width)
            page.goto(f"{live_server.url}/reports?start=2024-12-01&end=2025-07-31")
            pairs = page.evaluate(PAIRS)
            assert len(pairs) == 3
            for items in pairs:
                for i, a in enumerate(items):
                    # a table too wide for the screen scrolls inside its own labelled,
                    # focusable region (WCAG's exception for data tables), nothing else does
                    if a["clipped"] and not a["region"]:
                        problems.append(f"reports at {width}px: a {a['tag']} is cut off")
                    if a["broken"]:
                        problems.append(f"reports at {width}px: headings broken inside a "
                                        f"word: {a['broken']}")
                    for b in items[i + 1:]:
                        if _overlap(a["box"], b["box"]):
                            problems.append(f"reports at {width}px: {a['tag']} and "
                                            f"{b['tag']} overlap")
            page.screenshot(path=str(shots / f"reports-{width}.png"), full_page=True)
            page.goto(live_server.url + "/")
            page.screenshot(path=str(shots / f"home-{width}.png"), full_page=True)
        finally:
            context.close()
    assert problems == []


def test_the_skip_link_comes_first_and_focus_is_visible(
        page: Page, live_server: LiveServer, expect: Any) -> None:
    live_server.db.create_user("ana", "analyst")
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    page.goto(f"{live_server.url}/accounts")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, "
                            "document.activeElement.textContent]")
    assert focused == ["skip-link", "Skip to main content"]
    skip = page.locator("a.skip-link")
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 50  # on screen once focused
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + "
                            "getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and outline != "solid 0px"
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/accounts#main")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # the next Tab goes into the page, past the navigation
    page.keyboard.press("Tab")
    inside = page.evaluate("() => document.getElementById('main')"
                           ".contains(document.activeElement)")
    assert inside
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert style == "solid"


def test_docs_draw_the_api_from_local_files_within_the_csp(
        page: Page, live_server: LiveServer, expect: Any, tmp_path: Path) -> None:
    live_server.db.create_user("ana", "analyst")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server.url) else None)
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    # 1.7 MB of script to load and parse: give a loaded machine longer than the usual 5 s
    page.goto(f"{live_server.url}/docs", timeout=30_000)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Cellwatch",
                                                                      timeout=30_000)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    paths = page.locator(".swagger-ui .opblock-summary-path").all_inner_texts()
    assert paths and all(p.replace("\u200b", "").startswith("/api/v1/") for p in paths)
    page.screenshot(path=str(screenshot_dir(tmp_path) / "docs.png"))
    assert [c for c in console if "Content Security Policy" in c] == []
    assert outside == []
