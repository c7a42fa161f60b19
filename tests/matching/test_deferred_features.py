"""An evidence upload's local features are computed by its second stage (a match worker), not
in the request: the same features intake would have computed, from the sealed original; a
damaged original fails the stage with its reason; a reference photo made from an image still
waiting for its stage gets them at once."""

import pytest
from sqlmodel import select

from app.audit.service import SYSTEM
from app.db import unit_of_work, utcnow
from app.estate.models import Cell, Establishment
from app.evidence import storage
from app.evidence.derive import analyse_stored
from app.evidence.images import read_original
from app.evidence.models import Image, ImageFeatures
from app.evidence.reference import add_reference_from_image
from app.matching import jobs, queue
from app.matching.models import Match
from app.settings import Settings
from tests.conftest import page_csrf
from tests.matching import scenes


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, match_attempts=1)


@pytest.fixture
def no_worker_yet(monkeypatch):
    monkeypatch.setattr(jobs, "second_stage_job", lambda *a, **k: None)


def _upload(client, data):
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("p.jpg", data, "image/jpeg"))])
    assert r.status_code == 201, r.text
    return r.json()["images"][0]["image_id"]


def _run_next_stage(client):
    state = client.app.state
    with unit_of_work(state.session_factory) as s:
        taken = queue.claim_next(s, utcnow(), "host:1")
    assert taken is not None
    stored = jobs.run_second_stage(state.session_factory, state.match_engine, SYSTEM, taken,
                                   queue.Policy.of(state.settings), settings=state.settings)
    return taken.image_id, stored


def test_the_second_stage_computes_the_features_intake_left_and_links_another_view(
        as_role, session, settings, no_worker_yet):
    client, _ = as_role("analyst")
    room = scenes.room(31)
    first = _upload(client, scenes.jpeg(room))
    assert session.get(ImageFeatures, first) is None  # the request computed none
    assert _run_next_stage(client) == (first, True)
    session.expire_all()
    row = session.get(ImageFeatures, first)
    image = session.get(Image, first)
    expected = analyse_stored(read_original(settings, image),
                              long_side=settings.display_long_side).features
    assert row is not None and row.data == expected  # what intake would have stored

    other = _upload(client, scenes.other_viewpoint(room))  # only local features link these
    assert _run_next_stage(client) == (other, True)
    pairs = session.exec(select(Match).where(Match.query_image_id == other)).all()
    assert [(m.candidate_image_id, m.method) for m in pairs] == [(first, "features")]


def test_a_damaged_original_fails_the_stage_with_its_reason(as_role, session, settings,
                                                            no_worker_yet):
    client, _ = as_role("analyst")
    image_id = _upload(client, scenes.jpeg(scenes.room(32)))
    image = session.get(Image, image_id)
    path = storage.path_for(settings, image.storage_key, "original")
    path.write_bytes(path.read_bytes()[:-40] + bytes(40))  # the sealed file is corrupted
    assert _run_next_stage(client) == (image_id, False)
    page = client.get(f"/images/{image_id}/candidates").text
    assert 'data-stage="failed"' in page and "hx-trigger" not in page
    assert "failed its integrity check" in page
    assert session.get(ImageFeatures, image_id) is None


def test_a_reference_photo_made_from_an_image_awaiting_its_stage_gets_its_features(
        as_role, session, settings, no_worker_yet):
    client, _ = as_role("analyst")
    image_id = _upload(client, scenes.jpeg(scenes.room(33)))
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
    session.add(cell)
    session.flush()
    add_reference_from_image(session, settings, SYSTEM, cell_id=cell.id, image_id=image_id)
    row = session.get(ImageFeatures, image_id)
    assert row is not None and row.data == analyse_stored(
        read_original(settings, session.get(Image, image_id)),
        long_side=settings.display_long_side).features
