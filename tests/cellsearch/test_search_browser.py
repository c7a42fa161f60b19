"""A cell search from request to outcome in Chromium, within the CSP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.auth.models import User
from app.cellsearch.models import CellSearch
from app.web.dates import local_today
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.cellsearch.chromium import in_chromium
from tests.cellsearch.conftest import TZ, build_cells

pytestmark = pytest.mark.browser


def test_request_acknowledge_and_record_an_outcome(
        chromium_path: str, live_server: LiveServer, tmp_path: Path) -> None:
    live_server.db.create_user("ana", "analyst")
    with live_server.db.session() as db:
        ana = db.exec(select(User).where(User.username == "ana")).one()
        attribution_id = build_cells(db, ana, local_today(TZ)).confirmed.id
        db.commit()

    def run(page: Any, expect: Any) -> None:
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, live_server, "ana", GOOD_PASSWORD)
        page.goto(f"{live_server.url}/attributions/{attribution_id}/search/new")
        expect(page.get_by_role("heading", name="Request a search of MDI A-1-014")
               ).to_be_visible()
        page.get_by_label("Reason").fill("Photo of the cell posted last night")
        page.get_by_label("Urgency").select_option("immediate")
        page.get_by_label("B2345CD").uncheck()
        page.get_by_role("button", name="Request the search").click()
        expect(page.get_by_text("was requested.")).to_be_visible()
        expect(page.get_by_role("cell", name="A1234BC")).to_be_visible()
        expect(page.get_by_role("cell", name="B2345CD")).to_have_count(0)

        page.get_by_role("button", name="Record acknowledgement by MDI").click()
        expect(page.get_by_text("is acknowledged.")).to_be_visible()
        page.get_by_label("Phones").fill("2")
        page.get_by_label("SIM cards").fill("1")
        page.get_by_role("button", name="Record outcome").click()
        expect(page.get_by_text("3 items recorded")).to_be_visible()
        target = Path(os.environ.get("CELLWATCH_SCREENSHOT_DIR") or tmp_path)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / "cell-search.png"), full_page=True)
        page.goto(f"{live_server.url}/searches?state=completed")
        expect(page.get_by_role("link", name="#1")).to_be_visible()
        assert [text for text in console if "Content Security Policy" in text] == []

    in_chromium(chromium_path, run)
    with live_server.db.session() as db:
        (search,) = db.exec(select(CellSearch)).all()
        assert (search.state, search.urgency, search.phones, search.version) == \
            ("completed", "immediate", 2, 3)
