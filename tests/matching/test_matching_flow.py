"""A photo comes in and is linked to a cell's reference photo and to earlier images."""

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.estate.models import Cell, Establishment
from app.evidence.models import ReferencePhoto
from app.matching.models import Match, MatchRun
from tests.conftest import page_csrf
from tests.matching import scenes


@pytest.fixture
def cell(session):
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    row = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1")
    session.add(row)
    session.commit()
    return row


def _upload_reference(client, cell, data, name="ref.jpg"):
    r = client.post(f"/api/v1/cells/{cell.id}/photos",
                    files=[("files", (name, data, "image/jpeg"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code in (200, 201), r.text


def _intake(client, *photos, first_answer=False):
    """Submit photos; by default return each with its candidates once both stages ran."""
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", (f"p{i}.jpg", d, "image/jpeg")) for i, d in enumerate(photos)])
    assert r.status_code in (200, 201), r.text
    images = r.json()["images"]
    if first_answer:
        return images
    return [{**i, **client.get(f"/api/v1/images/{i['image_id']}/candidates").json()}
            for i in images]


def test_repost_of_a_cell_photo_is_linked_in_the_first_answer(client, as_role, cell, make_user):
    from tests.conftest import login

    scene = scenes.room(1)
    login(client, make_user("supervisor").username)
    _upload_reference(client, cell, scenes.jpeg(scene))
    for seed in (2, 3):  # other cells' photos must not be linked
        _upload_reference(client, cell, scenes.jpeg(scenes.room(seed)), f"other{seed}.jpg")
    login(client, make_user("analyst").username)
    [image] = _intake(client, scenes.repost(scene), first_answer=True)
    assert not image["second_stage_done"]  # feature matching runs after the answer
    near = [c for c in image["candidates"] if c["method"] != "features"]
    assert len(near) == 1
    assert near[0]["cells"][0]["label"] == "A-1-014"
    assert near[0]["cells"][0]["establishment"] == "MDI"
    later = client.get(f"/api/v1/images/{image['image_id']}/candidates").json()
    assert later["second_stage_done"]
    assert [c["image_id"] for c in later["candidates"]] == [near[0]["image_id"]]


def test_another_viewpoint_is_found_by_the_second_stage(client, as_role, cell, make_user,
                                                         session):
    from tests.conftest import login

    scene = scenes.room(7)
    login(client, make_user("supervisor").username)
    _upload_reference(client, cell, scenes.jpeg(scene))
    _upload_reference(client, cell, scenes.jpeg(scenes.room(8)), "other.jpg")
    login(client, make_user("analyst").username)
    [image] = _intake(client, scenes.other_viewpoint(scene))
    found = [c for c in image["candidates"] if c["method"] == "features"]
    assert len(found) == 1 and found[0]["score"] >= 20
    assert found[0]["cells"][0]["label"] == "A-1-014"
    run = session.get(MatchRun, image["image_id"])
    assert run.second_stage_at is not None


def test_unrelated_photo_gets_no_candidate(client, as_role, cell, make_user):
    from tests.conftest import login

    login(client, make_user("supervisor").username)
    _upload_reference(client, cell, scenes.jpeg(scenes.room(11)))
    login(client, make_user("analyst").username)
    [image] = _intake(client, scenes.jpeg(scenes.room(12)))
    assert image["candidates"] == []


def test_evidence_images_link_to_each_other(as_role):
    client, _ = as_role("analyst")
    scene = scenes.room(21)
    [first] = _intake(client, scenes.jpeg(scene))
    [second] = _intake(client, scenes.repost(scene))
    assert [c["image_id"] for c in second["candidates"]] == [first["image_id"]]
    assert second["candidates"][0]["cells"] == []


def test_confirm_reject_and_double_decision(as_role, session):
    client, user = as_role("analyst")
    scene = scenes.room(31)
    _intake(client, scenes.jpeg(scene))
    [second] = _intake(client, scenes.repost(scene))
    match_id = second["candidates"][0]["match_id"]
    token = page_csrf(client)
    r = client.post(f"/matches/{match_id}/confirm", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert session.get(Match, match_id).status == "confirmed"
    again = client.post(f"/matches/{match_id}/reject", data={"csrf_token": token})
    assert again.status_code == 409 and "already confirmed" in again.text
    assert session.get(Match, match_id).status == "confirmed"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "match.confirm")).all()
    assert [e.object_ids for e in events] == [f'["{match_id}"]']


def test_supervisor_grows_the_library_from_a_confirmed_match(client, cell, make_user, session):
    from tests.conftest import login

    scene = scenes.room(41)
    login(client, make_user("supervisor").username)
    _upload_reference(client, cell, scenes.jpeg(scene))
    login(client, make_user("analyst").username)
    [image] = _intake(client, scenes.other_viewpoint(scene))
    match_id = image["candidates"][0]["match_id"]
    token = page_csrf(client)
    assert client.post(f"/matches/{match_id}/promote", data={"csrf_token": token}
                       ).status_code == 403  # analysts cannot change the library
    client.post(f"/matches/{match_id}/confirm", data={"csrf_token": token})
    login(client, make_user("supervisor").username)
    r = client.post(f"/matches/{match_id}/promote", data={"csrf_token": page_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303
    photos = session.exec(select(ReferencePhoto).where(ReferencePhoto.cell_id == cell.id)).all()
    assert {p.image_id for p in photos} >= {image["image_id"]}
    assert [p.source for p in photos if p.image_id == image["image_id"]] == ["evidence"]


def test_review_page_lists_pending_matches_side_by_side(as_role):
    client, _ = as_role("analyst")
    scene = scenes.room(51)
    [first] = _intake(client, scenes.jpeg(scene))
    [second] = _intake(client, scenes.repost(scene))
    page = client.get("/review")
    assert page.status_code == 200
    assert f'src="/images/{first["image_id"]}/display"' in page.text
    assert f'src="/images/{second["image_id"]}/display"' in page.text
    detail = client.get(f"/images/{second['image_id']}")
    assert "near-duplicate" in detail.text and "Confirm" in detail.text


def test_a_pair_is_one_candidate_whichever_way_it_was_found(as_role, session):
    client, _ = as_role("analyst")
    scene = scenes.room(52)
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("a.jpg", scenes.repost(scene), "image/jpeg")),
                           ("files", ("b.jpg", scenes.other_viewpoint(scene), "image/jpeg"))])
    a, b = (i["image_id"] for i in r.json()["images"])
    pairs = session.exec(select(Match)).all()
    assert len(pairs) == 1
    assert {pairs[0].query_image_id, pairs[0].candidate_image_id} == {a, b}


def test_a_failed_second_stage_keeps_its_error_and_the_first_stage(as_role, session,
                                                                   monkeypatch):
    from app.matching import service

    client, _ = as_role("analyst")
    scene = scenes.room(71)
    [first] = _intake(client, scenes.jpeg(scene))

    def broken(session, engine, actor, image_id, settings=None):
        run = session.get(MatchRun, image_id)
        run.second_stage_at = run.first_stage_at  # written, then lost with the rollback
        session.add(run)
        session.flush()
        raise RuntimeError("feature index unavailable")

    monkeypatch.setattr(service, "second_stage", broken)
    [second] = _intake(client, scenes.repost(scene))
    run = session.get(MatchRun, second["image_id"])
    session.refresh(run)
    assert run.error == "RuntimeError: feature index unavailable"
    assert run.second_stage_at is None  # the failed unit of work was rolled back
    assert not second["second_stage_done"]
    assert second["second_stage"]["state"] == "retrying"  # attempt 1 of 3: tried again
    assert second["second_stage"]["last_error"] == run.error
    # the first stage's candidate, committed with the request, is kept
    assert [c["image_id"] for c in second["candidates"]] == [first["image_id"]]
    fragment = client.get(f"/images/{second['image_id']}/candidates").text
    assert "Comparing local features with the cell library failed on attempt 1" in fragment


def test_review_queue_takes_the_same_queries_however_many_matches(as_role, session, engine):
    from sqlalchemy import event

    from app.matching.models import Match

    client, _ = as_role("analyst")
    ids = [i["image_id"] for seed in (81, 82, 83, 84)
           for i in _intake(client, scenes.jpeg(scenes.room(seed)), first_answer=True)]

    def queries_for_review():
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get("/review")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(seen), page.text

    session.add(Match(query_image_id=ids[1], candidate_image_id=ids[0], method="phash",
                      distance=3))
    session.commit()
    one, _ = queries_for_review()
    session.add_all([Match(query_image_id=ids[3], candidate_image_id=ids[2], method="phash",
                           distance=4),
                     Match(query_image_id=ids[2], candidate_image_id=ids[0], method="features",
                           distance=30, inliers=34)])
    session.commit()
    three, text = queries_for_review()
    assert three == one
    assert all(f'src="/images/{i}/display"' in text for i in ids)
