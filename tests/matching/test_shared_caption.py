"""A caption shared by two different photographs is not a shared scene (issue 9): one
account's running caption or watermark, at the same place on every photo it posts, must not
link its photos to each other, while a captioned copy of a photo still links to it."""

import pytest

from app.estate.models import Cell, Establishment
from app.evidence.cell_cap import capped
from app.evidence.hashing import (
    _inliers,
    compute_features,
    unpack_features,
    verify_features,
)
from app.matching.thresholds import VERIFY_MIN_SCORE
from tests.conftest import login, page_csrf
from tests.matching import scenes


def _captioned(seed: int) -> bytes:
    return scenes.jpeg(scenes.running_caption(scenes.photo_like(seed)), 85)


def _band_score(a: bytes, b: bytes) -> int:
    """The score the inliers would get if the rest of the picture were not consulted (capped
    on each whole picture: no more than on the part the other shows)."""
    pa, da, size_a = unpack_features(a)
    pb, db, size_b = unpack_features(b)
    found = _inliers(pa, da, pb, db, 0.8, 4.0)
    assert found is not None
    return min(capped(found[0], size_a), capped(found[1], size_b))


def test_two_different_photos_with_the_same_caption_are_not_linked():
    a, b = compute_features(_captioned(71)), compute_features(_captioned(77))
    # the caption alone agrees well enough to pass the threshold: the case to be caught
    assert _band_score(a, b) >= VERIFY_MIN_SCORE
    assert verify_features(a, b) < VERIFY_MIN_SCORE
    assert verify_features(b, a) < VERIFY_MIN_SCORE


def test_a_captioned_copy_of_a_photo_still_verifies_against_it():
    original = compute_features(scenes.jpeg(scenes.room(72)))
    copy = compute_features(scenes.repost(scenes.running_caption(scenes.room(72))))
    assert verify_features(copy, original) >= VERIFY_MIN_SCORE


@pytest.fixture
def cells(session):
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    rows = [Cell(establishment_id=est.id, label=f"A-1-0{n}", wing="A", landing="1")
            for n in (14, 15)]
    session.add_all(rows)
    session.commit()
    return rows


def _upload(client, data: bytes) -> list[dict]:
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("post.jpg", data, "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    [image] = r.json()["images"]
    found = client.get(f"/api/v1/images/{image['image_id']}/candidates").json()
    assert found["second_stage_done"]
    return found["candidates"]


def test_the_second_stage_links_the_captioned_copy_and_not_the_other_captioned_photo(
        client, make_user, cells):
    """Cell A-1-014's reference photo carries the account's caption (a confirmed evidence
    image becomes a reference photo); A-1-015's is a clean photo."""
    login(client, make_user("supervisor").username)
    for cell, data in ((cells[0], _captioned(71)), (cells[1], scenes.jpeg(scenes.room(72)))):
        r = client.post(f"/api/v1/cells/{cell.id}/photos",
                        files=[("files", ("ref.jpg", data, "image/jpeg"))],
                        headers={"X-CSRF-Token": page_csrf(client)})
        assert r.status_code in (200, 201), r.text
    login(client, make_user("analyst").username)

    assert _upload(client, _captioned(77)) == []  # another photo, the same caption
    found = _upload(client, scenes.repost(scenes.running_caption(scenes.room(72))))
    assert [c["cells"][0]["label"] for c in found] == ["A-1-015"]
    assert found[0]["method"] == "features" and found[0]["score"] >= VERIFY_MIN_SCORE
