"""From a pasted URL with two images to a confirmed attribution and the prisoner's dossier."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page

from app.audit.service import SYSTEM
from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from app.evidence.reference import add_reference_photo
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.matching import scenes

pytestmark = pytest.mark.browser


def _estate_with_reference(server: LiveServer, photo: bytes) -> None:
    with server.db.session() as db:
        est = Establishment(code="MDI", name="Moorland")
        db.add(est)
        db.flush()
        cell = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1")
        db.add(cell)
        db.flush()
        prisoner = Prisoner(prison_number="A1234BC", surname="Doe", forenames="John",
                            surname_key="doe", forenames_key="john",
                            date_of_birth=date(1990, 5, 1))
        db.add(prisoner)
        db.flush()
        db.add(Occupancy(prisoner_id=prisoner.id, cell_id=cell.id, starts_on=date(2024, 1, 1)))
        add_reference_photo(db, server.settings, SYSTEM, cell_id=cell.id or 0, data=photo,
                            filename="staff.jpg")
        db.commit()


def test_pasted_url_to_confirmed_attribution_and_dossier(page: Page, live_server: LiveServer,
                                                         tmp_path: Path, expect) -> None:
    scene = scenes.room(4)
    _estate_with_reference(live_server, scenes.jpeg(scene))
    live_server.db.create_user("ana", "analyst")
    one, two = tmp_path / "one.jpg", tmp_path / "two.jpg"
    one.write_bytes(scenes.repost(scene))
    two.write_bytes(scenes.jpeg(scenes.room(5)))
    sign_in(page, live_server, "ana", GOOD_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Intake").click()
    page.get_by_label("Account (profile link, post link or @handle)").fill(
        "https://www.instagram.com/Wing_A_Life/?hl=en")
    page.get_by_label("Images").set_input_files([str(one), str(two)])
    page.get_by_role("button", name="Take in").click()
    expect(page.locator("h1")).to_contain_text("Instagram wing_a_life")
    expect(page.get_by_text("Images (2)")).to_be_visible()

    candidate = page.locator(".candidate", has_text="Cell A-1-014").first
    expect(candidate).to_contain_text("MDI")
    candidate.get_by_role("button", name="Confirm").click()  # back on the account page
    row = page.locator("#attributions tr", has_text="A1234BC")
    expect(row).to_contain_text("suggested")
    expect(row).to_contain_text("by intake time")
    row.get_by_role("button", name="Confirm").click()
    expect(page.locator("#attributions tr", has_text="A1234BC")).to_contain_text("confirmed")
    expect(page.locator("h1 + p")).to_contain_text("attributed")

    page.locator("#attributions").get_by_role("link", name="A1234BC").click()
    page.get_by_label("Purpose").fill("Investigation 2026/117: Instagram account in cell")
    page.get_by_role("button", name="Open dossier").click()
    expect(page.get_by_role("link", name="Instagram wing_a_life")).to_be_visible()
    expect(page.get_by_text("A-1-014").first).to_be_visible()
    assert live_server.db.audit("prisoner.dossier")[-1].purpose.startswith("Investigation")
