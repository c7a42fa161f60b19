"""An analyst takes in two photos of the same cell and confirms the link, in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.matching import scenes

pytestmark = pytest.mark.browser


def test_two_photos_are_linked_and_the_match_confirmed(page: Page, live_server: LiveServer,
                                                       tmp_path: Path, expect) -> None:
    live_server.db.create_user("ana", "analyst")
    scene = scenes.room(3)
    first, second = tmp_path / "first.jpg", tmp_path / "second.jpg"
    first.write_bytes(scenes.jpeg(scene))
    second.write_bytes(scenes.repost(scene))
    sign_in(page, live_server, "ana", GOOD_PASSWORD)

    page.goto(f"{live_server.url}/intake")
    page.get_by_label("Images").set_input_files(str(first))
    page.get_by_role("button", name="Take in").click()
    expect(page.get_by_text("1 new, 0 already held")).to_be_visible()
    expect(page.get_by_text("No image held matches this one.")).to_be_visible()

    page.goto(f"{live_server.url}/intake")
    page.get_by_label("Images").set_input_files(str(second))
    page.get_by_role("button", name="Take in").click()
    candidate = page.locator(".candidate").first
    expect(candidate).to_contain_text("near-duplicate")
    expect(candidate.locator("img")).to_have_count(2)  # side by side
    candidate.get_by_role("button", name="Confirm").click()
    expect(page.locator(".candidate .badge").first).to_have_text("confirmed")
    confirmed = live_server.db.audit("match.confirm")
    assert len(confirmed) == 1 and confirmed[0].actor_name == "ana"
