"""Pages that wait for an image's second stage update by themselves without moving what the
analyst may be about to press: the stage's line is polled alone and, once done, offers the
new candidates behind a button; and a match can be seen large with its agreeing points."""

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import utcnow
from app.matching import jobs, queue
from app.matching.compare import compare
from app.matching.models import Match
from app.settings import Settings
from tests.accounts.conftest import submit
from tests.conftest import page_csrf
from tests.matching import scenes


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0)


def _run_waiting_stages(client):
    state = client.app.state
    while True:
        with state.session_factory() as s:
            taken = queue.claim_next(s, utcnow() + timedelta(minutes=1))
            s.commit()
        if taken is None:
            return
        jobs.run_second_stage(state.session_factory, state.match_engine, SYSTEM, taken,
                              settings=state.settings)


@pytest.fixture
def waiting(as_role, monkeypatch):
    """An account whose one image has a cell-like partner found only by its second stage."""
    client, _ = as_role("analyst")
    scene = scenes.room(91)
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("a.jpg", scenes.jpeg(scene), "image/jpeg"))])
    held = r.json()["images"][0]["image_id"]
    monkeypatch.setattr(jobs, "second_stage_job", lambda *a, **k: None)  # no worker yet
    account = submit(client, "@stage_waits", [scenes.other_viewpoint(scene)], platform="x")
    account_id = account.json()["account"]["id"]
    image_id = account.json()["images"][0]["image_id"]
    return client, account_id, image_id, held


def test_the_account_page_polls_the_stage_line_only_and_offers_what_it_found(waiting):
    client, account_id, image_id, held = waiting
    page = client.get(f"/accounts/{account_id}").text
    assert f'hx-get="/images/{image_id}/stage?shown=0"' in page
    assert f'hx-get="/images/{image_id}/candidates" hx-trigger' not in page
    assert "Reload the page" not in page
    waiting_line = client.get(f"/images/{image_id}/stage?shown=0").text
    assert 'data-stage="queued"' in waiting_line and "hx-trigger" in waiting_line

    _run_waiting_stages(client)
    line = client.get(f"/images/{image_id}/stage?shown=0").text
    assert 'data-stage="done"' in line and "hx-trigger" not in line  # stops polling
    assert "Local features compared: 1 new candidate found." in line
    button = re.search(r'<button type="button" hx-get="([^"]+)" hx-target="([^"]+)"', line)
    assert button.groups() == (f"/images/{image_id}/candidates",
                               f"#match-candidates-{image_id}")
    assert "Show 1 new candidate</button>" in line
    fragment = client.get(button.group(1)).text  # what the button brings in
    assert f'id="match-candidates-{image_id}"' in fragment
    assert f'alt="Image {held}"' in fragment and "Confirm" in fragment
    assert "hx-trigger" not in fragment
    # a page that already shows it is told there is nothing more, not offered a button
    again = client.get(f"/images/{image_id}/stage?shown=1").text
    assert "nothing more found" in again and "<button" not in again


def test_the_image_page_no_longer_replaces_its_candidates_while_it_waits(waiting):
    client, _, image_id, _ = waiting
    page = client.get(f"/images/{image_id}").text
    assert f'hx-get="/images/{image_id}/stage?shown=0" hx-trigger="every 2s"' in page
    assert 'hx-trigger="every 1s"' not in page


def test_a_stage_that_found_nothing_says_so(as_role):
    client, _ = as_role("analyst")
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("a.jpg", scenes.jpeg(scenes.room(92)), "image/jpeg"))])
    image_id = r.json()["images"][0]["image_id"]
    line = client.get(f"/images/{image_id}/stage").text
    assert "Local features compared. No image held matches this one." in line


def test_a_match_is_shown_large_with_its_agreeing_points(waiting, session):
    client, _, image_id, held = waiting
    _run_waiting_stages(client)
    match = session.exec(select(Match).where(Match.query_image_id == image_id)).one()
    assert match.method == "features"
    page = client.get(f"/matches/{match.id}")
    assert page.status_code == 200
    lines = page.text.count("<line ") // 2  # each drawn over a dark shadow of itself
    assert lines > 10 and f'href="/images/{held}/display"' in page.text
    assert re.search(r"<strong>\d+ point pairs agree</strong>", page.text)
    assert f"Possible: {match.inliers} matching points agree" in page.text \
        or f"Strong: {match.inliers} matching points agree" in page.text
    seen = compare(session, client.app.state.settings, match)
    assert seen.drawn == lines and seen.agreement.score >= match.inliers
    for x1, _, x2, _ in seen.lines:  # each line runs from the left picture to the right one
        assert 0 <= x1 <= seen.left.width and seen.right.x <= x2 <= seen.width
    zoom = client.get(f"/matches/{match.id}/compare").text
    assert zoom.lstrip().startswith('<figure class="compare"') and "<html" not in zoom
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "match.compared")).all()
    assert len(events) == 2 and all(e.object_ids == f'["{match.id}"]' for e in events)


def test_points_on_a_screenshot_land_on_the_photo_inside_it(as_role, session):
    from tests.evidence.test_decode_once import screenshot
    from tests.evidence.test_hashing import jpeg, scene

    client, _ = as_role("analyst")
    for name, data in (("photo.jpg", jpeg(scene(7))), ("shot.png", screenshot())):
        r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                        files=[("files", (name, data, "image/png"))])
        assert r.status_code in (200, 201), r.text
    shot = r.json()["images"][0]["image_id"]
    match = session.exec(select(Match).where(Match.query_image_id == shot)).one()
    seen = compare(session, client.app.state.settings, match)
    assert seen.agreement.score >= 40 and seen.drawn > 10
    # the photo fills x 90-990 and y 700-1300 of the 1080 x 2200 screenshot (left side)
    scale = seen.height / 2200
    for x1, y1, _, _ in seen.lines:
        assert 85 * scale <= x1 <= 995 * scale and 695 * scale <= y1 <= 1305 * scale
