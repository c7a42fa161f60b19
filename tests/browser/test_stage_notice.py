"""The account page updates by itself when an image's second stage finishes, in Chromium:
the new candidate waits behind a "Show 1 new candidate" button (nothing moves under the
pointer), and the button works from the keyboard."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page

from app.matching import queue
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import screenshot_dir, sign_in
from tests.matching import scenes

pytestmark = pytest.mark.browser


def test_the_account_page_offers_new_candidates_without_a_reload(
        page: Page, live_server: LiveServer, tmp_path: Path, expect,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hold = threading.Event()  # the match worker takes no stage until the page is open
    real_claim = queue.claim_next
    monkeypatch.setattr(queue, "claim_next",
                        lambda *a, **k: real_claim(*a, **k) if hold.is_set() else None)
    hold.set()  # the held photo's own stage runs as usual
    live_server.db.create_user("ana", "analyst")
    scene = scenes.room(6)
    held, seen = tmp_path / "held.jpg", tmp_path / "seen.jpg"
    held.write_bytes(scenes.jpeg(scene))
    seen.write_bytes(scenes.other_viewpoint(scene))  # found by local features only
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    page.goto(f"{live_server.url}/intake")
    page.get_by_label("Images").set_input_files(str(held))
    page.get_by_role("button", name="Take in").click()
    expect(page.get_by_text("No image held matches this one.")).to_be_visible(timeout=15_000)

    hold.clear()
    page.goto(f"{live_server.url}/accounts/new")
    page.get_by_label("Account (profile link, post link or @handle)").fill("@cell_six")
    page.get_by_label("Platform").select_option("x")
    page.get_by_label("Images").set_input_files(str(seen))
    page.get_by_role("button", name="Take in").click()
    expect(page.locator("h1")).to_contain_text("cell_six")
    expect(page.locator("[data-stage=queued]")).to_be_visible()
    url = page.url

    hold.set()  # the worker takes the stage; the page is not reloaded
    button = page.get_by_role("button", name="Show 1 new candidate")
    expect(button).to_be_visible(timeout=15_000)
    assert page.url == url
    expect(page.locator(".candidate")).to_have_count(0)  # not until asked
    button.focus()
    page.keyboard.press("Enter")
    candidate = page.locator(".candidate")
    expect(candidate).to_have_count(1)
    expect(candidate).to_contain_text("same scene")
    expect(candidate.get_by_role("button", name="Confirm")).to_be_visible()
    expect(page.get_by_role("heading", name="Match candidates")).to_be_focused()

    candidate.get_by_role("link", name="agreeing points, large").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Match")
    expect(page.locator("figure.compare svg g.agree line").first).to_be_attached()
    expect(page.locator("figure.compare figcaption")).to_contain_text("point pairs agree")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "match-points.png"), full_page=True)
