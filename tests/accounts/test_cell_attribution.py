"""A cell with several reference photos is one candidate; deciding it decides for the cell,
and its occupants are suggested once per account, never both suggested and confirmed."""

from __future__ import annotations

import json

from sqlmodel import select

from app.accounts.models import Account, Attribution
from app.audit.models import AuditEvent
from app.matching.models import Match
from tests.accounts.conftest import submit, upload_reference
from tests.conftest import login, page_csrf
from tests.matching import scenes


def _two_photo_cell(client, make_user, estate, seed):
    """Cell A-1-014 with two reference photos of one scene (two shots: different bytes)."""
    rgb = scenes.room(seed)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb, quality=92))
    upload_reference(client, estate["cell"], scenes.jpeg(rgb, quality=60))
    login(client, make_user("analyst").username)
    return rgb


def _intake(client, account, photo, posted_at="2025-01-20T09:00"):
    r = submit(client, account, [photo], platform="instagram", posted_at=posted_at)
    assert r.status_code in (200, 201), r.text
    body = r.json()
    image_id = body["images"][0]["image_id"]
    found = client.get(f"/api/v1/images/{image_id}/candidates").json()["candidates"]
    return body["account"]["id"], image_id, found


def _decide(client, match_id, decision="confirm"):
    r = client.post(f"/api/v1/matches/{match_id}/{decision}",
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.text
    return r.json()


def _attributions(session, account_id):
    session.expire_all()  # as the requests left them
    return session.exec(select(Attribution).where(Attribution.account_id == account_id)
                        .order_by(Attribution.id)).all()


def test_two_reference_photos_of_a_cell_give_one_candidate_and_one_suggestion_each(
        client, make_user, estate, session):
    rgb = _two_photo_cell(client, make_user, estate, 81)
    account_id, image_id, found = _intake(client, "@two_photos", scenes.repost(rgb))
    [cell] = found  # one candidate for the cell, not one per photo
    assert cell["kind"] == "cell" and cell["cell"]["label"] == "A-1-014"
    assert len(cell["photos"]) == 2 and cell["decision"] == "pending"
    page = client.get(f"/images/{image_id}")
    assert page.text.count('class="candidate cell-candidate') == 1
    assert "2 reference photos of this cell match" in page.text
    assert page.text.count(">Confirm cell A-1-014</button>") == 1

    answer = _decide(client, cell["match_id"])
    assert answer["attributions_suggested"] == 2  # Adams and Cole shared the cell that day
    rows = _attributions(session, account_id)
    assert sorted(r.prisoner_id for r in rows) == sorted([estate["adams"].id, estate["cole"].id])
    assert {r.status for r in rows} == {"suggested"}
    # the cell's other photo was decided with it: nothing left for a second decision
    pairs = [session.get(Match, p["match_id"]) for p in cell["photos"]]
    for pair in pairs:
        session.refresh(pair)
    assert [p.status for p in pairs] == ["confirmed", "confirmed"]
    assert answer["decided_with"] == [pairs[1].id]
    assert pairs[1].review_note.startswith(f"Decided with match {pairs[0].id}")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "match.confirm")
                          .order_by(AuditEvent.id)).all()
    assert [json.loads(e.object_ids) for e in events] == [[str(pairs[0].id)],
                                                          [str(pairs[1].id)]]
    assert json.loads(events[1].details)["with_match"] == pairs[0].id
    second = client.post(f"/api/v1/matches/{pairs[1].id}/confirm",
                         headers={"X-CSRF-Token": page_csrf(client)})
    assert second.status_code == 409
    [after] = client.get(f"/api/v1/images/{image_id}/candidates").json()["candidates"]
    assert after["decision"] == "confirmed"
    assert ">Confirm cell" not in client.get(f"/images/{image_id}").text


def test_rejecting_a_cell_rejects_its_other_photos_too(client, make_user, estate, session):
    rgb = _two_photo_cell(client, make_user, estate, 82)
    account_id, _, [cell] = _intake(client, "@rejected_cell", scenes.repost(rgb))
    answer = _decide(client, cell["match_id"], "reject")
    assert answer["attributions_suggested"] == 0 and len(answer["decided_with"]) == 1
    statuses = {session.get(Match, p["match_id"]).status for p in cell["photos"]}
    assert statuses == {"rejected"}
    assert _attributions(session, account_id) == []


def test_a_prisoner_is_suggested_once_per_account_and_never_suggested_when_confirmed(
        client, make_user, estate, session):
    rgb = scenes.room(83)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, make_user("analyst").username)
    account_id, _, [first] = _intake(client, "@twice", scenes.repost(rgb),
                                     posted_at="2026-01-15T09:00")
    assert _decide(client, first["match_id"])["attributions_suggested"] == 1  # Baker
    # a second post of the same cell by the same account: Baker is already suggested
    _, _, [again, earlier] = _intake(client, "@twice", scenes.repost(rgb, quality=55),
                                     posted_at="2026-02-01T09:00")
    # the cell first, then the account's earlier image (held, in no library)
    assert again["kind"] == "cell" and earlier["kind"] == "image"
    assert _decide(client, again["match_id"])["attributions_suggested"] == 0
    [row] = _attributions(session, account_id)
    r = client.post(f"/attributions/{row.id}/confirm", data={"csrf_token": page_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303
    # a third, after the confirmation: no "suggested" beside the "confirmed"
    _, _, [third, *_] = _intake(client, "@twice", scenes.repost(rgb, quality=40),
                                posted_at="2026-03-01T09:00")
    assert third["kind"] == "cell"
    assert _decide(client, third["match_id"])["attributions_suggested"] == 0
    rows = _attributions(session, account_id)
    assert [(r.prisoner_id, r.status) for r in rows] == [(estate["baker"].id, "confirmed")]
    page = client.get(f"/accounts/{account_id}").text
    assert page.count("B2222BB</a>") == 1 and "badge-suggested" not in page


def test_a_rejected_basis_is_not_suggested_again(client, make_user, estate, session):
    rgb = scenes.room(84)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, make_user("analyst").username)
    account_id, _, [first] = _intake(client, "@no_thanks", scenes.repost(rgb),
                                     posted_at="2026-01-15T09:00")
    _decide(client, first["match_id"])
    [row] = _attributions(session, account_id)
    client.post(f"/attributions/{row.id}/reject", data={"csrf_token": page_csrf(client)})
    _, _, [again, *_] = _intake(client, "@no_thanks", scenes.repost(rgb, quality=55),
                                posted_at="2026-02-01T09:00")
    assert again["kind"] == "cell"
    assert _decide(client, again["match_id"])["attributions_suggested"] == 0
    assert [r.status for r in _attributions(session, account_id)] == ["rejected"]


def test_manual_attribution_of_a_suggested_prisoner_is_refused(client, make_user, estate,
                                                               session):
    rgb = scenes.room(85)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, make_user("analyst").username)
    account_id, _, [cell] = _intake(client, "@by_hand", scenes.repost(rgb),
                                    posted_at="2026-01-15T09:00")
    _decide(client, cell["match_id"])
    [row] = _attributions(session, account_id)
    version = session.get(Account, account_id).version
    r = client.post(f"/accounts/{account_id}/attributions",
                    data={"prison_number": "B2222BB", "csrf_token": page_csrf(client),
                          "reason": "Named himself in a video posted 2026-01-20"})
    assert r.status_code == 409
    assert f"attribution {row.id}" in r.text and "confirm that suggestion" in r.text
    assert [(a.id, a.status) for a in _attributions(session, account_id)] == [
        (row.id, "suggested")]
    session.expire_all()
    assert session.get(Account, account_id).version == version


def test_the_account_api_lists_candidates_per_cell(client, make_user, estate, session):
    rgb = _two_photo_cell(client, make_user, estate, 86)
    account_id, image_id, [cell] = _intake(client, "@api_reader", scenes.repost(rgb))
    body = client.get(f"/api/v1/accounts/{account_id}").json()
    [shown] = body["images"]
    assert sorted(shown["candidates"]) == sorted(p["match_id"] for p in cell["photos"])
    assert shown["ranked"] == [{"kind": "cell", "cell": cell["cell"],
                                "match_id": cell["match_id"],
                                "match_ids": [p["match_id"] for p in cell["photos"]],
                                "decision": "pending"}]


def test_the_review_queue_shows_a_cell_once(client, make_user, estate, session):
    rgb = _two_photo_cell(client, make_user, estate, 87)
    _, image_id, [cell] = _intake(client, "@queue_reader", scenes.repost(rgb))
    page = client.get("/review")
    assert page.status_code == 200
    assert page.text.count(f'<a href="/images/{image_id}">Review side by side</a>') == 1
    assert "and 1 more reference photo of this cell, decided with it" in page.text
    assert f'alt="Image {cell["image_id"]}"' in page.text  # the strongest pair is shown
