"""The review queue from the keyboard alone, in Chromium: move, zoom, read the key list,
confirm; and no key acts while the analyst is in a form field."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import screenshot_dir, sign_in
from tests.matching import scenes

pytestmark = pytest.mark.browser


def _take_in(page: Page, server: LiveServer, path: Path, expect) -> None:
    page.goto(f"{server.url}/intake")
    page.get_by_label("Images").set_input_files(str(path))
    page.get_by_role("button", name="Take in").click()
    expect(page.get_by_text("1 new, 0 already held")).to_be_visible()


def test_a_match_is_confirmed_with_the_keyboard_alone(page: Page, live_server: LiveServer,
                                                      tmp_path: Path, expect) -> None:
    live_server.db.create_user("kim", "analyst")
    sign_in(page, live_server, "kim", GOOD_PASSWORD)
    for seed in (3, 4):  # two pairs of the same photo: two items in the queue
        scene = scenes.room(seed)
        for name, data in (("a", scenes.jpeg(scene)), ("b", scenes.repost(scene))):
            path = tmp_path / f"{seed}{name}.jpg"
            path.write_bytes(data)
            _take_in(page, live_server, path, expect)

    page.goto(f"{live_server.url}/review")
    items = page.locator(".review-item")
    expect(items).to_have_count(2)
    first, second = items.nth(0), items.nth(1)

    page.keyboard.press("?")
    help_box = page.locator("#review-help")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("confirm the current match")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    page.keyboard.press("j")
    expect(second).to_be_focused()
    page.keyboard.press("k")
    expect(first).to_be_focused()
    page.keyboard.press("z")
    expect(first.locator(".zoom figure.compare svg")).to_be_visible()
    page.screenshot(path=str(screenshot_dir(tmp_path) / "review-zoom.png"), full_page=True)

    page.keyboard.press("c")
    expect(first.locator(".decision .badge")).to_have_text("confirmed")
    expect(second).to_be_focused()  # on to the next one waiting
    confirmed = live_server.db.audit("match.confirm")
    assert len(confirmed) == 1 and confirmed[0].actor_name == "kim"

    page.locator("select[name=kind]").focus()  # in a field, letters are the field's
    page.keyboard.press("r")
    expect(second.get_by_role("button", name="Reject")).to_be_visible()
    assert live_server.db.audit("match.reject") == []
