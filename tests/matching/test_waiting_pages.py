"""Pages that wait for an image's second matching stage say where it is: queued with how many
ahead, running, failed once and to be tried again, or failed for good with its reason; they
stop polling once it is done or failed (no endless "Comparing…")."""

from datetime import timedelta

import pytest

from app.audit.service import SYSTEM
from app.db import utcnow
from app.matching import jobs, queue, service
from app.settings import Settings
from tests.accounts.conftest import submit
from tests.conftest import page_csrf
from tests.matching import scenes


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, match_attempts=2)


def _upload(client, data):
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("p.jpg", data, "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    return r.json()["images"][0]["image_id"]


def _fragment(client, image_id):
    return client.get(f"/images/{image_id}/candidates").text


def test_a_stage_that_fails_says_why_and_stops_waiting_after_its_last_attempt(
        as_role, monkeypatch):
    client, _ = as_role("analyst")

    def broken(*args, **kwargs):
        raise RuntimeError("feature index unavailable")

    monkeypatch.setattr(service, "second_stage", broken)
    image_id = _upload(client, scenes.jpeg(scenes.room(81)))  # attempt 1 ran after the answer
    page = _fragment(client, image_id)
    assert 'data-stage="retrying"' in page and "hx-trigger" in page  # still waiting
    assert "failed on attempt 1 (RuntimeError: feature index unavailable)" in page
    api = client.get(f"/api/v1/images/{image_id}/candidates").json()
    assert api["second_stage"]["state"] == "retrying" and api["second_stage_error"] is None

    state = client.app.state  # the second and last attempt, as a worker runs it later
    with state.session_factory() as s:
        taken = queue.claim_next(s, utcnow() + timedelta(minutes=1))
        s.commit()
    jobs.run_second_stage(state.session_factory, state.match_engine, SYSTEM, taken,
                          queue.Policy.of(state.settings), settings=state.settings)
    page = _fragment(client, image_id)
    assert 'data-stage="failed"' in page and "hx-trigger" not in page  # stops waiting
    assert "failed after 2 attempts: RuntimeError: feature index unavailable" in page
    api = client.get(f"/api/v1/images/{image_id}/candidates").json()
    assert api["second_stage_error"] == "RuntimeError: feature index unavailable"
    assert not api["second_stage_done"]
    full = client.get(f"/images/{image_id}").text
    assert "failed after 2 attempts" in full


def test_pages_say_how_many_are_queued_ahead_until_a_worker_takes_them(as_role, monkeypatch):
    client, _ = as_role("analyst")
    monkeypatch.setattr(jobs, "second_stage_job", lambda *a, **k: None)  # no worker runs yet
    first = _upload(client, scenes.jpeg(scenes.room(82)))
    second = _upload(client, scenes.jpeg(scenes.room(83)))
    page = _fragment(client, second)
    assert "1 image ahead of it" in page and "hx-trigger" in page
    assert "next in line" in _fragment(client, first)
    account = submit(client, "@queued_one", [scenes.jpeg(scenes.room(84))], platform="x")
    account_page = client.get(f"/accounts/{account.json()['account']['id']}").text
    assert "2 images ahead of it" in account_page
    # the account page waits too, polling the stage's line only: its candidates (and their
    # Confirm buttons) are not replaced under the analyst's pointer
    assert 'hx-get="/images/' in account_page and '/stage?shown=0"' in account_page
    assert "/candidates\" hx-trigger" not in account_page

    state = client.app.state  # a worker takes the oldest
    with state.session_factory() as s:
        taken = queue.claim_next(s, utcnow(), "host:42")
        s.commit()
    assert taken.image_id == first
    assert "Comparing local features with the cell library now" in _fragment(client, first)
    assert "next in line" in _fragment(client, second)
    assert 'data-stage="running"' in client.get(f"/images/{first}/stage").text
    jobs.run_second_stage(state.session_factory, state.match_engine, SYSTEM, taken,
                          settings=state.settings)
    done = _fragment(client, first)
    assert "data-stage" not in done and "hx-trigger" not in done
    line = client.get(f"/images/{first}/stage").text  # what the account page's poll gets
    assert 'data-stage="done"' in line and "Local features compared" in line
    assert "hx-trigger" not in line
