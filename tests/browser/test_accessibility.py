"""axe-core, vendored under tests/browser/vendor/axe, run in Chromium on the main pages as each
role sees them: no violation of impact serious or critical on any of them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import col, select

from app.accounts.models import Account
from app.audit.service import SYSTEM
from app.auth.models import User
from app.cellsearch.models import CellSearch
from app.estate.models import Cell, Occupancy, Prisoner
from app.evidence.reference import add_reference_photo
from app.matching.models import Match
from app.takedowns.models import Takedown
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.matching import scenes
from tests.reports.conftest import build_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
SERIOUS = ("serious", "critical")
# axe's own result, cut to what a reader of the failure needs
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return {passed: result.passes.length, violations: result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))};
}"""


NO_BROWSER_CHECKS = "() => document.querySelectorAll('form').forEach(f => f.noValidate = true)"


def axe_violations(page: Page, label: str) -> list[str]:
    """Injects axe into the page as loaded (through the debugger, so the app's CSP, which
    allows no inline script, stays as it is) and lists each serious or critical violation."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: dict[str, Any] = page.evaluate(RUN_AXE)
    if found["passed"] == 0:  # axe checked nothing: an empty page, or axe did not run
        return [f"{label}: axe found no rule to apply"]
    return [f"{label}: {v['id']} ({v['impact']}: {v['help']}) at {', '.join(v['targets'])}"
            for v in found["violations"] if v["impact"] in SERIOUS]


def _visit(page: Page, server: LiveServer, path: str) -> list[str]:
    answer = page.goto(server.url + path)
    label = f"{path} at {page.viewport_size['width'] if page.viewport_size else '?'}px"
    if answer is None or answer.status != 200:
        return [f"{label} answered {answer.status if answer else 'nothing'}"]
    return axe_violations(page, label)


def _seed(server: LiveServer, tmp_path: Path) -> Path:
    """The reports' data set, plus a reference photo of MDI A-1-001 with an occupant; returns a
    re-post of that photo for intake, so the account page has an image and candidates."""
    server.db.create_user("sup", "supervisor")
    server.db.create_user("aud", "auditor")
    server.db.create_user("adm", "admin")
    scene = scenes.room(4)
    with server.db.session() as db:
        sup = db.exec(select(User).where(User.username == "sup")).one()
        build_data(db, sup.id or 0)
        cell = db.exec(select(Cell).where(Cell.label == "A-1-001")).first()
        prisoner = db.exec(select(Prisoner).where(Prisoner.prison_number == "A1234BC")).one()
        assert cell is not None
        db.add(Occupancy(prisoner_id=prisoner.id, cell_id=cell.id, starts_on=date(2024, 1, 1)))
        add_reference_photo(db, server.settings, SYSTEM, cell_id=cell.id or 0,
                            data=scenes.jpeg(scene), filename="staff.jpg")
        db.commit()
    photo = tmp_path / "repost.jpg"
    photo.write_bytes(scenes.repost(scene))
    return photo


@pytest.mark.parametrize("width", [1280, 640])  # 640: what 1280 px shows at 200 % zoom
def test_main_pages_have_no_serious_or_critical_violation(
        browser: Browser, live_server: LiveServer, tmp_path: Path, expect: Any,
        width: int) -> None:
    photo = _seed(live_server, tmp_path)
    problems: list[str] = []

    anonymous = browser.new_context(viewport={"width": width, "height": 800})
    try:
        problems += _visit(anonymous.new_page(), live_server, "/login")
    finally:
        anonymous.close()

    for user, paths in (("aud", ["/", "/audit"]), ("adm", ["/", "/admin/users"])):
        other = browser.new_context(viewport={"width": width, "height": 800})
        try:
            page = other.new_page()
            sign_in(page, live_server, user, GOOD_PASSWORD)
            for path in paths:
                problems += _visit(page, live_server, path)
        finally:
            other.close()

    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, "sup", GOOD_PASSWORD)
        problems += _visit(page, live_server, "/intake")
        problems += _visit(page, live_server, "/accounts/new")
        page.get_by_label("Account (profile link, post link or @handle)").fill(
            "https://www.instagram.com/Wing_A_Life/")
        page.get_by_label("Images").set_input_files(str(photo))
        page.get_by_role("button", name="Take in").click()
        expect(page.locator(".candidate", has_text="Cell A-1-001").first).to_be_visible()
        problems += axe_violations(page, f"account page after intake at {width}px")
        with live_server.db.session() as db:
            match = db.exec(select(Match).order_by(col(Match.id))).first()
            takedown = db.exec(select(Takedown).order_by(col(Takedown.id))).first()
            search = db.exec(select(CellSearch).order_by(col(CellSearch.id))).first()
            account = db.exec(select(Account).order_by(col(Account.id))).first()
            assert match and takedown and search and account
            details = [f"/accounts/{account.id}", f"/matches/{match.id}",
                       f"/images/{match.query_image_id}",
                       f"/takedowns/{takedown.id}", f"/searches/{search.id}"]
        # search terms and purposes are posted, never in a URL: the results and the dossier
        # are reached through their forms
        page.goto(live_server.url + "/search")
        page.get_by_label("Prison number").fill("A1234BC")
        page.get_by_role("button", name="Search").click()
        problems += axe_violations(page, f"search results at {width}px")
        page.goto(live_server.url + "/search/prisoners/A1234BC")
        page.get_by_label("Purpose").fill("Investigation 2026/117 accessibility")
        page.get_by_role("button", name="Open dossier").click()
        problems += axe_violations(page, f"dossier at {width}px")
        for path in ["/", "/accounts", "/review", "/takedowns", "/searches", "/search",
                     "/search/prisoners/A1234BC", "/reports",
                     "/reports?start=2024-12-01&end=2025-07-31",
                     "/account/keys", "/account/password", "/estate", "/estate/MDI",
                     "/estate/MDI/cells/A-1-001", "/estate/prisoners/A1234BC",
                     "/matching/queue", "/takedowns/platforms", *details]:
            problems += _visit(page, live_server, path)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_forms_with_errors_and_the_takedown_path_have_none_either(
        browser: Browser, live_server: LiveServer, tmp_path: Path, expect: Any) -> None:
    """Pages as they look mid-task: fields refused beside their errors, notice #1 previewed,
    the approver's view of the evidence, the analyst's home with work waiting."""
    photo = _seed(live_server, tmp_path)
    live_server.db.create_user("ana", "analyst")
    problems: list[str] = []

    anonymous = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = anonymous.new_page()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
        problems += axe_violations(page, "login refused")
    finally:
        anonymous.close()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, "ana", GOOD_PASSWORD)
        page.goto(f"{live_server.url}/accounts/new")
        page.get_by_label("Account (profile link, post link or @handle)").fill(
            "https://www.instagram.com/Wing_A_Life/")
        page.get_by_label("Images").set_input_files(str(photo))
        page.get_by_role("button", name="Take in").click()
        expect(page.locator(".candidate", has_text="Cell A-1-001").first).to_be_visible()
        account_url = page.url.split("?")[0].rstrip("/")
        problems += _visit(page, live_server, "/")
        problems += _visit(page, live_server, "/review")
        page.keyboard.press("z")  # the comparison, loaded into the queue's item
        expect(page.locator(".review-item .zoom figure.compare svg").first).to_be_visible()
        problems += axe_violations(page, "/review zoomed")
        page.keyboard.press("?")
        expect(page.locator("#review-help")).to_be_visible()
        problems += axe_violations(page, "/review keys listed")

        page.goto(f"{account_url}/takedowns/new")
        problems += axe_violations(page, "new takedown")
        page.get_by_role("button", name="Save and preview notice #1").click()
        expect(page.locator("#err-evidence_ids")).to_be_visible()
        problems += axe_violations(page, "new takedown refused")
        page.locator('input[name="evidence_ids"]').first.check()
        page.get_by_label("Reason: what the account posts").fill(
            "Photographs from inside cell A-1-001, posted to taunt a victim's family.")
        page.get_by_label("Contact the platform answers").fill(
            "Digital investigations unit, du@prisons.example")
        page.get_by_label("I state in good faith").check()
        page.get_by_role("button", name="Save and preview notice #1").click()
        expect(page.locator("#preview")).to_contain_text("Notice #1 as it will go")
        problems += axe_violations(page, "notice #1 previewed")
        page.get_by_role("button", name="Submit for approval").click()
        expect(page.locator("h1")).to_contain_text("Awaiting approval")
        takedown_url = page.url

        # the server's refusals, past the browser's own checks
        page.goto(f"{live_server.url}/account/keys")
        page.get_by_label("Name").fill("nightly export")
        page.get_by_label("Days valid").fill("365")
        page.evaluate(NO_BROWSER_CHECKS)
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("input[name=days][aria-invalid=true]")).to_be_visible()
        problems += axe_violations(page, "API key refused")
        page.goto(f"{live_server.url}/search/prisoners/A1234BC")
        problems += axe_violations(page, "dossier purpose")
        page.evaluate(NO_BROWSER_CHECKS)
        page.get_by_role("button", name="Open dossier").click()
        expect(page.get_by_role("alert")).to_be_visible()
        problems += axe_violations(page, "dossier purpose refused")
    finally:
        context.close()

    approver = browser.new_context(viewport={"width": 1280, "height": 800})
    approver.set_default_timeout(10_000)
    try:
        page = approver.new_page()
        sign_in(page, live_server, "sup", GOOD_PASSWORD)
        problems += _visit(page, live_server, "/")
        page.goto(takedown_url)
        expect(page.locator("#basis img")).to_have_count(1)
        problems += axe_violations(page, "takedown awaiting approval")
    finally:
        approver.close()
    assert problems == [], "\n".join(problems)
