"""Chromium for the browser tests kept with their domain (tests/searches, tests/reports).

tests/browser holds one Playwright for the whole session, and its sync API owns the main
thread's event loop; a second one cannot start there. So these tests drive a Playwright of their
own in a thread of their own, on the same system Chromium and the same flags.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.browser.conftest import CHROMIUM_ARGS


def in_chromium(chromium_path: str, run: Callable[..., None]) -> None:
    """Call run(page, expect) in a fresh browser context; re-raise what it raised."""
    failures: list[BaseException] = []

    def work() -> None:
        try:
            from playwright.sync_api import expect, sync_playwright

            expect.set_options(timeout=5_000)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path, headless=True,
                                             args=CHROMIUM_ARGS, timeout=30_000)
                try:
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    context.set_default_timeout(5_000)
                    run(context.new_page(), expect)
                finally:
                    browser.close()
        except BaseException as exc:  # handed back to the test's thread
            failures.append(exc)

    thread = threading.Thread(target=work, name="chromium-test", daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the browser test did not finish"
    if failures:
        raise failures[0]
