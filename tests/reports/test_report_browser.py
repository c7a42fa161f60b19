"""The reports page in Chromium: charts drawn, nothing refused by the CSP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.auth.models import User
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.cellsearch.chromium import in_chromium
from tests.reports.conftest import build_data

pytestmark = pytest.mark.browser


def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("CELLWATCH_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_the_reports_page_draws_its_charts_within_the_csp(
        chromium_path: str, live_server: LiveServer, tmp_path: Path) -> None:
    live_server.db.create_user("ana", "analyst")
    with live_server.db.session() as db:
        ana = db.exec(select(User).where(User.username == "ana")).one()
        build_data(db, ana.id or 0)
        db.commit()

    def run(page: Any, expect: Any) -> None:
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, live_server, "ana", GOOD_PASSWORD)
        page.goto(f"{live_server.url}/reports?start=2024-12-01&end=2025-07-31")
        expect(page.get_by_role("heading", name="Takedowns by platform")).to_be_visible()
        charts = page.locator("figure.chart svg")
        expect(charts).to_have_count(3)
        for i in range(3):
            box = charts.nth(i).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 40
        bars = page.locator("figure.chart svg rect")
        assert bars.count() == 3 + 2 + 8  # platforms, establishments, months
        fill = bars.first.evaluate("r => getComputedStyle(r).fill")
        assert fill == "rgb(11, 92, 173)"  # the presentation attribute applied
        page.screenshot(path=str(shots(tmp_path) / "reports.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("link", name="Years as CSV").click()
        name = download.value.suggested_filename
        assert name.startswith("cellwatch-years-2024-12-01_2025-07-31")
        assert [text for text in console if "Content Security Policy" in text] == []

    in_chromium(chromium_path, run)
