"""Edited copies of a photo-like picture are linked to its cell through the API; different
photos are not (what bench/matching_accuracy_real.py measures on real photographs)."""

import pytest

from app.estate.models import Cell, Establishment
from tests.conftest import login, page_csrf
from tests.matching import scenes


@pytest.fixture
def cells(session):
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    rows = [Cell(establishment_id=est.id, label=f"A-1-0{n}", wing="A", landing="1")
            for n in (14, 15, 16)]
    session.add_all(rows)
    session.commit()
    return rows


def _library(client, make_user, cells, seeds):
    """One reference photo per cell: photo_like(seed)."""
    login(client, make_user("supervisor").username)
    for cell, seed in zip(cells, seeds, strict=True):
        r = client.post(f"/api/v1/cells/{cell.id}/photos",
                        files=[("files", (f"ref{seed}.jpg", scenes.jpeg(scenes.photo_like(seed)),
                                          "image/jpeg"))],
                        headers={"X-CSRF-Token": page_csrf(client)})
        assert r.status_code in (200, 201), r.text
    login(client, make_user("analyst").username)


def _candidates(client, data):
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("post.jpg", data, "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    [image] = r.json()["images"]
    found = client.get(f"/api/v1/images/{image['image_id']}/candidates").json()
    assert found["second_stage_done"]
    return found["candidates"]


@pytest.mark.parametrize("edit", [scenes.text_overlay, scenes.repost_chain,
                                  scenes.strong_perspective])
def test_an_edited_copy_is_linked_to_its_cell_only(client, make_user, cells, edit):
    _library(client, make_user, cells, (41, 42, 43))
    found = _candidates(client, edit(scenes.photo_like(42)))
    assert [c["cells"][0]["label"] for c in found] == ["A-1-015"]
    assert found[0]["method"] == "features" and found[0]["score"] >= 20


def test_a_mirrored_and_cropped_selfie_is_linked_to_its_cell_only(client, make_user, cells):
    """A front-camera selfie: mirrored, and cropped; only the mirror image's votes find it."""
    _library(client, make_user, cells, (44, 45, 46))
    rgb = scenes.photo_like(45)
    h, w = rgb.shape[:2]
    selfie = rgb[h // 10: h - h // 10, w // 8: w - w // 10][:, ::-1]
    found = _candidates(client, scenes.jpeg(selfie.copy()))
    assert [c["cells"][0]["label"] for c in found] == ["A-1-015"]
    assert found[0]["method"] == "features" and found[0]["score"] >= 20


def test_different_photos_are_not_linked(client, make_user, cells):
    _library(client, make_user, cells, (51, 52, 53))
    for seed in (54, 55):
        assert _candidates(client, scenes.jpeg(scenes.photo_like(seed))) == []
    assert _candidates(client, scenes.text_overlay(scenes.photo_like(56))) == []


def test_a_stale_feature_blob_is_ignored_not_misread(client, make_user, cells, session):
    """A reference photo whose features were stored in the old format (version 1) is not
    verified against (it scores 0) and the second stage still completes without an error."""
    from sqlmodel import select

    from app.evidence.models import ImageFeatures, ReferencePhoto
    from app.matching.models import MatchRun

    _library(client, make_user, cells[:1], (61,))
    ref = session.exec(select(ReferencePhoto)).one()
    row = session.get(ImageFeatures, ref.image_id)
    row.data = bytes([1]) + row.data[1:]
    session.add(row)
    session.commit()
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("post.jpg", scenes.strong_perspective(
                        scenes.photo_like(61)), "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    [image] = r.json()["images"]
    found = client.get(f"/api/v1/images/{image['image_id']}/candidates").json()
    assert found["second_stage_done"] and found["candidates"] == []
    session.expire_all()
    assert not session.get(MatchRun, image["image_id"]).error  # "" when none


def test_reanalysis_brings_a_stale_reference_photo_back_into_the_second_stage(
        client, make_user, cells, session, settings, connection):
    """After an upgrade of the features, `reanalyse_stale` recomputes old blobs from the
    sealed originals (audited), and the photo is matched by its features again."""
    from sqlmodel import Session as DbSession
    from sqlmodel import select

    from app.audit.models import AuditEvent
    from app.audit.service import SYSTEM
    from app.evidence.hashing import is_stale
    from app.evidence.models import ImageFeatures, ReferencePhoto
    from app.evidence.reanalysis import count_stale, reanalyse_stale

    _library(client, make_user, cells[:1], (62,))
    ref = session.exec(select(ReferencePhoto)).one()
    row = session.get(ImageFeatures, ref.image_id)
    row.data = bytes([1]) + row.data[1:]
    session.add(row)
    session.commit()
    assert count_stale(session) == 1

    def factory() -> DbSession:
        return DbSession(bind=connection, join_transaction_mode="create_savepoint",
                         expire_on_commit=False)

    done = reanalyse_stale(factory, settings, SYSTEM)
    assert (done.recomputed, done.failed) == (1, 0)
    session.expire_all()
    assert not is_stale(session.get(ImageFeatures, ref.image_id).data)
    assert count_stale(session) == 0
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action == "evidence.features.recomputed")).one()
    client.app.state.match_engine.votes.remove([ref.image_id])  # a restarted worker's index
    assert _candidates(client, scenes.strong_perspective(scenes.photo_like(62))) != []
