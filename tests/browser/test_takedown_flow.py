"""A takedown in the browser: the analyst picks one of two images and previews notice #1; a
second supervisor approves beside the evidence; the portal notice is ready to submit until the
analyst records filing it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_attribution_flow import _estate_with_reference
from tests.browser.test_login_flow import screenshot_dir, sign_in
from tests.matching import scenes

pytestmark = pytest.mark.browser


def test_draft_with_chosen_image_preview_approve_and_record_submission(
        page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path, expect) -> None:
    scene = scenes.room(4)
    _estate_with_reference(live_server, scenes.jpeg(scene))
    live_server.db.create_user("ana", "analyst")
    live_server.db.create_user("sue", "supervisor")
    one, two = tmp_path / "one.jpg", tmp_path / "two.jpg"
    one.write_bytes(scenes.repost(scene))
    two.write_bytes(scenes.jpeg(scenes.room(5)))
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Intake").click()
    page.get_by_label("Account (profile link, post link or @handle)").fill(
        "https://www.instagram.com/Wing_A_Life/")
    page.get_by_label("Images").set_input_files([str(one), str(two)])
    page.get_by_role("button", name="Take in").click()
    expect(page.get_by_text("Images (2)")).to_be_visible()
    account_url = page.url

    page.goto(f"{account_url.split('?')[0].rstrip('/')}/takedowns/new")
    page.get_by_role("button", name="Save and preview notice #1").click()  # nothing filled
    expect(page.locator("#err-evidence_ids")).to_contain_text("Choose at least one image")
    expect(page.locator("#err-good_faith")).to_be_visible()
    boxes = page.locator('input[name="evidence_ids"]')
    expect(boxes).to_have_count(2)
    boxes.first.check()
    page.get_by_label("Reason: what the account posts").fill(
        "Photographs from inside cell A-1-014, posted to taunt a victim's family.")
    page.get_by_label("Contact the platform answers").fill(
        "Digital investigations unit, du@prisons.example")
    page.get_by_label("I state in good faith").check()
    page.get_by_role("button", name="Save and preview notice #1").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Notice #1 as it will go")
    expect(preview.locator("pre")).to_contain_text("Prison Act 1952, section 40D")
    expect(preview.locator("pre")).to_contain_text("Evidence (1 image)")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "takedown-preview.png"), full_page=True)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("h1")).to_contain_text("Awaiting approval")
    takedown_url = page.url

    supervisor = browser.new_context(base_url=live_server.url).new_page()
    sign_in(supervisor, live_server, "sue", GOOD_PASSWORD)
    supervisor.goto(takedown_url)
    evidence = supervisor.locator("#basis")
    expect(evidence.locator("img")).to_have_count(1)
    expect(evidence).to_contain_text("cell MDI A-1-014")
    supervisor.screenshot(path=str(screenshot_dir(tmp_path) / "takedown-approval.png"),
                          full_page=True)
    supervisor.get_by_role("button", name="Approve").click()
    expect(supervisor.locator("h1")).to_contain_text("Approved, not sent")
    supervisor.context.close()

    page.goto(takedown_url)
    page.get_by_role("button", name="Make notice #1 ready to submit").click()
    expect(page.locator("h1")).to_contain_text("Ready to submit (not sent)")
    expect(page.get_by_text("nothing has gone to Instagram yet")).to_be_visible()
    page.get_by_label("Portal's reference number (optional)").fill("LE-2026-0042")
    page.get_by_role("button", name="Record as submitted").click()
    expect(page.locator("h1")).to_contain_text("Sent")
    expect(page.get_by_text("(ref LE-2026-0042)")).to_be_visible()
    assert len(live_server.db.audit("takedown.submitted")) == 1
