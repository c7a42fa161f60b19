"""The whole loop in Chromium on the demo estate (built small): an analyst pastes an account with
two new photos of a demo cell, confirms the cell match and the attribution, drafts a takedown
with chosen images; a second person (a supervisor) approves beside the evidence; notice #1 goes
by email to a local SMTP server; the removal is recorded; the prisoner's dossier lists the
account; the report's removal count moved. A screenshot of each step goes to
test-output/whole-loop/ (ignored); docs/screenshots/ holds three of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import func
from sqlmodel import col, select

from app import migrations
from app.db import make_engine
from app.demo import edits
from app.demo.build import build_demo, choose_story_cells
from app.demo.estate import make_estate
from app.demo.photos import SKETCH_SIZE
from app.demo.sketch import sketch_room
from app.estate.models import Cell, Establishment, Occupancy
from app.settings import Settings
from app.takedowns.models import PlatformSettings
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.browser.conftest import GOOD_PASSWORD, LiveServer, serve_live
from tests.browser.test_login_flow import sign_in
from tests.demo.conftest import SMALL
from tests.takedowns.conftest import OUTBOUND, Mailbox, smtp_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

SEED = 3
OUT = Path(__file__).resolve().parents[2] / "test-output" / "whole-loop"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PLATFORM_ADDRESS = "takedowns@instagram.test"


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:  # noqa: F811 - the imported fixture
    """The delivery tests' SMTP server, emptied for this walk."""
    smtp_server.messages.clear()
    return smtp_server


@pytest.fixture
def demo_server(tmp_path: Path, mailbox: Mailbox) -> Iterator[LiveServer]:
    """The demo estate in a fresh database, served by uvicorn with a match worker beside it
    (as `cellwatch serve` runs), its email channel pointed at the local SMTP server."""
    data_dir = tmp_path / "walk-data"
    data_dir.mkdir()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrations.upgrade(url)
    settings = Settings(data_dir=data_dir, database_url=url, smtp_host="127.0.0.1",
                        smtp_port=mailbox.port, smtp_starttls=False,
                        smtp_from="unit@cellwatch.test", delivery_timeout_seconds=5,
                        outbound_destinations=OUTBOUND)
    engine = make_engine(url)
    build_demo(engine, settings, seed=SEED, today=date.today(), cells_per_landing=SMALL,
               workers=1, say=lambda _: None)
    engine.dispose()
    with serve_live(url, settings) as server:
        yield server


def _photos_of_a_demo_cell(server: LiveServer, folder: Path) -> tuple[str, list[Path]]:
    """A drawn (not story) cell with one occupant now, and two new photos of it: a repost of
    its reference photo and a crop, from the demo's own room sketch of that cell."""
    estate = make_estate(SEED, date.today(), SMALL)
    story = set(choose_story_cells(estate, SEED).values())
    drawn = [(code, label) for code, label, _ in estate.cells if (code, label) not in story]
    with server.db.session() as db:
        occupied = {(code, label) for code, label in db.exec(
            select(Establishment.code, Cell.label)
            .join(Cell, col(Cell.establishment_id) == Establishment.id)
            .join(Occupancy, col(Occupancy.cell_id) == Cell.id)
            .where(col(Occupancy.ends_on).is_(None))
            .group_by(Establishment.code, Cell.label)
            .having(func.count() == 1)).all()}
    i, (code, label) = next((i, c) for i, c in enumerate(drawn) if c in occupied)
    rgb = sketch_room(SEED * 100_000 + i, SKETCH_SIZE)
    paths = [folder / "repost.jpg", folder / "crop.jpg"]
    paths[0].write_bytes(edits.repost(rgb))
    paths[1].write_bytes(edits.crop(rgb))
    return f"{code} {label}", paths


def _shot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def _removed_on_reports(page: Page, server: LiveServer) -> int:
    page.goto(f"{server.url}/reports")
    row = page.locator("table").first.locator("tbody tr", has_text="Instagram")
    return int(row.locator("td").nth(3).inner_text()) if row.count() else 0


def test_the_whole_loop_on_the_demo_estate(page: Page, browser: Browser,
                                           demo_server: LiveServer, mailbox: Mailbox,
                                           tmp_path: Path, expect) -> None:
    server = demo_server
    expect.set_options(timeout=20_000)  # the second stage runs on a busy machine
    asked: list[str] = []  # what the page asked before an action (and the answer: yes)

    def answer(dialog) -> None:  # noqa: ANN001
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    server.db.create_user("ana", "analyst")
    server.db.create_user("sue", "supervisor")
    with server.db.session() as db:
        db.merge(PlatformSettings(platform="instagram", channel="email",
                                  address=PLATFORM_ADDRESS, template=DEFAULT_TEMPLATE))
        db.commit()
    cell, photos = _photos_of_a_demo_cell(server, tmp_path)
    code, label = cell.split()
    supervisor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(supervisor, server, "sue", GOOD_PASSWORD)
    removed_before = _removed_on_reports(supervisor, server)
    _shot(supervisor, "00-reports-before")

    sign_in(page, server, "ana", GOOD_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Intake").click()
    page.get_by_label("Account (profile link, post link or @handle)").fill(
        "https://www.instagram.com/landing_life_walk/")
    page.get_by_label("Images").set_input_files([str(p) for p in photos])
    page.get_by_role("button", name="Take in").click()
    expect(page.get_by_text("Images (2)")).to_be_visible()
    account_url = page.url.split("?")[0].rstrip("/")
    candidate = page.locator(".candidate", has_text=f"Cell {label}").first
    expect(candidate).to_contain_text(code)  # the page updates itself once matching is done
    _shot(page, "01-matched-account")
    candidate.get_by_role("button", name="Confirm").click()
    row = page.locator("#attributions tr", has_text="suggested").first
    expect(row).to_be_visible()
    prison_number = row.get_by_role("link").first.inner_text().strip()
    _shot(page, "02-match-confirmed")
    row.get_by_role("button", name="Confirm").click()
    expect(page.locator("#attributions tr", has_text=prison_number)).to_contain_text("confirmed")
    _shot(page, "03-attribution-confirmed")

    page.goto(f"{account_url}/takedowns/new")
    boxes = page.locator('input[name="evidence_ids"]')
    expect(boxes).to_have_count(2)
    boxes.first.check()
    page.get_by_label("Reason: what the account posts").fill(
        f"Photographs from inside cell {cell}, posted from a phone held in the cell.")
    page.get_by_label("Contact the platform answers").fill(
        "Digital investigations unit, du@prisons.example")
    page.get_by_label("I state in good faith").check()
    page.get_by_role("button", name="Save and preview notice #1").click()
    expect(page.locator("#preview pre")).to_contain_text("Evidence (1 image)")
    _shot(page, "04-takedown-preview")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("h1")).to_contain_text("Awaiting approval")
    takedown_url = page.url

    supervisor.goto(takedown_url)
    expect(supervisor.locator("#basis img")).to_have_count(1)
    expect(supervisor.locator("#basis")).to_contain_text(label)
    _shot(supervisor, "05-approval-with-evidence")
    supervisor.get_by_role("button", name="Approve").click()
    expect(supervisor.locator("h1")).to_contain_text("Approved")

    page.goto(takedown_url)
    page.get_by_role("button", name="Send notice #1").click()
    assert any("Send notice #1 with the evidence pack" in q for q in asked), asked
    # delivered after the response: the page says "Sent" once the SMTP server has accepted it
    deadline = time.monotonic() + 20
    while "Sent" not in page.locator("h1").inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(page.locator("h1")).to_contain_text("Sent")
    assert len(mailbox.messages) == 1, "notice #1 did not reach the SMTP server"
    _, to, body = mailbox.messages[0]
    assert to == [PLATFORM_ADDRESS] and b"landing_life_walk" in body
    _shot(page, "06-notice-sent")
    removal = page.locator("form", has=page.get_by_role("button", name="Record removal"))
    removal.get_by_label("Platform's reference").fill("IG-REM-0099")
    removal.get_by_role("button", name="Record removal").click()
    expect(page.locator("h1")).to_contain_text("Removed")
    _shot(page, "07-removal-recorded")

    page.goto(f"{server.url}/search")
    page.get_by_label("Prison number").fill(prison_number)
    page.get_by_role("button", name="Search").click()
    found = page.locator("tbody tr", has_text=prison_number)
    expect(found).to_have_count(1)
    found.get_by_role("link", name="Dossier").click()
    page.get_by_label("Purpose").fill("Investigation 2026/118: Instagram account in cell")
    page.get_by_role("button", name="Open dossier").click()
    expect(page.get_by_role("link", name="Instagram landing_life_walk")).to_be_visible()
    _shot(page, "08-dossier")

    assert _removed_on_reports(supervisor, server) == removed_before + 1
    _shot(supervisor, "09-reports-after")
    supervisor.context.close()
