"""Candidates ranked per cell: one entry per cell, its strongest evidence first, ties broken
by the method and by how much of the picture agrees, never by the order rows were stored.

The stored rows are made by hand here so that each case is exactly the one described (two
look-alike cells tied at distance 0, a crop matched more closely by the shortlist but weaker
on verification); what is asserted is what the API and the image page show.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.estate.models import Cell, Establishment
from app.evidence.hashing import compute_hashes, hamming, to_signed
from app.evidence.models import Image, ReferencePhoto
from app.matching.candidates import mirror_dhash
from app.matching.models import Match
from app.matching.schemas import Candidate
from tests.matching import scenes

_serial = itertools.count(1)
BASE = 0x0F0F_3C3C_55AA_F00F


def image(session, *, phash=BASE, dhash=BASE) -> Image:
    n = next(_serial)
    row = Image(sha256=f"{n:064x}", format="jpeg", byte_size=1000, width=640, height=480,
                storage_key=f"k{n:063x}", wrapped_key=b"x", phash=to_signed(phash),
                phash_mirror=to_signed(phash), phash_trim=to_signed(phash),
                dhash=to_signed(dhash))
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def prison(session):
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    cells = {label: Cell(establishment_id=est.id, label=label, wing=label[0],
                         landing=label[2]) for label in ("A-1-014", "A-1-015", "B-2-001")}
    session.add_all(cells.values())
    session.flush()
    return cells


def reference(session, cell: Cell, **hashes: int) -> Image:
    row = image(session, **hashes)
    session.add(ReferencePhoto(image_id=row.id, cell_id=cell.id))
    session.flush()
    return row


def link(session, query: Image, other: Image, method: str, distance: int,
         score: int | None = None) -> Match:
    row = Match(query_image_id=query.id, candidate_image_id=other.id, method=method,
                distance=distance, inliers=score)
    session.add(row)
    session.flush()
    return row


def candidates(client, image_id: int) -> list[dict]:
    r = client.get(f"/api/v1/images/{image_id}/candidates")
    assert r.status_code == 200, r.text
    return r.json()["candidates"]


def cell_order(client, image_id: int) -> list[str]:
    return [c["cell"]["label"] if c["cell"] else f"image {c['image_id']}"
            for c in candidates(client, image_id)]


def test_look_alike_cells_tied_at_distance_0_are_ranked_by_agreement(as_role, session,
                                                                     prison):
    client, _ = as_role("analyst")
    query = image(session, dhash=BASE)
    # the look-alike is stored (and matched) first: ranking by id would list it first
    look_alike = reference(session, prison["A-1-015"], dhash=BASE ^ 0xFF00)
    true = reference(session, prison["A-1-014"], dhash=BASE ^ 0x1)
    link(session, query, look_alike, "phash", 0)
    link(session, query, true, "phash", 0)
    session.commit()
    found = candidates(client, query.id)
    assert [c["cell"]["label"] for c in found] == ["A-1-014", "A-1-015"]
    assert [c["agreement"] for c in found] == [63, 56]
    assert [c["rank"] for c in found] == [1, 2]
    page = client.get(f"/images/{query.id}")
    assert page.text.index("Cell <strong>A-1-014</strong>") < page.text.index(
        "Cell <strong>A-1-015</strong>")
    assert "63/64 of the grid agrees" in page.text


def test_a_crop_does_not_outrank_the_true_cell_with_stronger_evidence(as_role, session,
                                                                     prison):
    client, _ = as_role("analyst")
    query = image(session)
    # a crop in another cell's library: the shortlist found it by a close global hash
    # (distance 10), but verification agrees on less of the picture than the true cell
    crop = reference(session, prison["B-2-001"])
    true = reference(session, prison["A-1-014"])
    link(session, query, crop, "features", 10, score=25)
    link(session, query, true, "features", 64, score=90)
    session.commit()
    assert cell_order(client, query.id) == ["A-1-014", "B-2-001"]


def test_near_duplicate_beats_features_then_method_then_distance(as_role, session, prison):
    client, _ = as_role("analyst")
    query = image(session)
    by_features = reference(session, prison["A-1-014"])
    mirrored = reference(session, prison["A-1-015"])
    plain = reference(session, prison["B-2-001"])
    link(session, query, by_features, "features", 0, score=180)
    link(session, query, mirrored, "phash_mirror", 2)
    link(session, query, plain, "phash", 2)
    session.commit()
    assert cell_order(client, query.id) == ["B-2-001", "A-1-015", "A-1-014"]


def test_several_reference_photos_of_a_cell_are_one_candidate(as_role, session, prison):
    client, _ = as_role("analyst")
    query = image(session)
    photos = [reference(session, prison["A-1-014"], dhash=BASE ^ flip)
              for flip in (0xF, 0x0, 0xFF)]
    other_cell = reference(session, prison["B-2-001"])
    held = image(session)  # evidence from another account, in no library
    link(session, query, photos[0], "phash", 1)
    link(session, query, photos[1], "phash", 1)
    link(session, query, photos[2], "features", 64, score=40)
    link(session, query, held, "phash", 0)
    link(session, query, other_cell, "phash", 3)
    session.commit()
    found = candidates(client, query.id)
    assert cell_order(client, query.id) == ["A-1-014", "B-2-001", f"image {held.id}"]
    first = found[0]
    assert first["kind"] == "cell" and first["image_id"] == photos[1].id  # full agreement
    assert [p["image_id"] for p in first["photos"]] == [photos[1].id, photos[0].id,
                                                        photos[2].id]
    assert found[2]["kind"] == "image" and found[2]["cell"] is None
    # what a client read before grouping is still there, from the strongest pair
    assert {"match_id", "image_id", "method", "distance", "score", "status", "cells",
            "posts"} <= set(first)
    page = client.get(f"/images/{query.id}")
    assert page.text.count('class="candidate cell-candidate') == 2
    assert page.text.count('class="candidate image-candidate') == 1
    assert "3 reference photos of this cell match" in page.text
    assert "Other held images" in page.text


def test_rejected_strongest_pair_leaves_the_cell_to_decide_on_a_pending_one(as_role, session,
                                                                           prison):
    client, _ = as_role("analyst")
    query = image(session)
    first = reference(session, prison["A-1-014"])
    second = reference(session, prison["A-1-014"], dhash=BASE ^ 0x3)
    strongest = link(session, query, first, "phash", 0)
    pending = link(session, query, second, "phash", 0)
    strongest.status = "rejected"
    session.commit()
    [entry] = candidates(client, query.id)
    assert entry["decision"] == "pending" and entry["status"] == "rejected"
    page = client.get(f"/images/{query.id}").text
    assert f'action="/matches/{pending.id}/confirm"' in page
    assert f'action="/matches/{strongest.id}/confirm"' not in page


def test_the_openapi_schema_documents_the_new_fields(app):
    schema = app.openapi()
    fields = schema["components"]["schemas"]["Candidate"]["properties"]
    assert {"rank", "kind", "cell", "decision", "photos", "agreement", "match_id"} <= set(fields)
    assert "description" in fields["agreement"]
    answer = schema["paths"]["/api/v1/images/{image_id}/candidates"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Candidates")
    assert set(Candidate.model_fields) >= {"photos", "cells", "posts"}


def test_mirror_dhash_is_the_dhash_of_the_mirrored_picture():
    rgb = scenes.room(5)
    plain = compute_hashes(scenes.jpeg(rgb)).dhash
    mirrored = compute_hashes(scenes.jpeg(np.ascontiguousarray(rgb[:, ::-1]))).dhash
    assert hamming(mirror_dhash(plain), mirrored) <= 4
    assert hamming(plain, mirrored) > 16
    assert mirror_dhash(mirror_dhash(plain)) == plain & ((1 << 64) - 1)
    assert mirror_dhash(-1) == 0  # every gradient rising, mirrored: every one falling
