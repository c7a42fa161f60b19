"""A supervisor withdraws an evidence image: its key is destroyed, it leaves every index and
the review queue, pages show who withdrew it and why instead of the picture, and the same bytes
sent again are a new image, matched afresh."""

import json
import re

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.evidence import crypto, storage
from app.evidence.models import Image
from app.matching.models import Match
from tests.conftest import csrf_from, login, page_csrf
from tests.evidence.conftest import stored_files
from tests.matching import scenes

REASON = "Captured from the wrong account: the victim posted it"


def _upload(client, data, name="p.jpg"):
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", (name, data, "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    return r.json()["images"][0]


def _withdraw(client, image_id, body=None):
    return client.request("DELETE", f"/api/v1/images/{image_id}",
                          headers={"X-CSRF-Token": page_csrf(client)},
                          json={"reason": REASON} if body is None else body)


def _match(session, a, b):
    session.expire_all()
    return session.exec(select(Match).where(
        col(Match.query_image_id).in_([a, b]), col(Match.candidate_image_id).in_([a, b]))).first()


@pytest.fixture
def supervisor(client, make_user):
    user = make_user("supervisor")
    login(client, user.username)
    return user


def test_the_key_is_destroyed_and_nothing_can_be_shown(client, supervisor, session, settings):
    held = _upload(client, scenes.jpeg(scenes.room(11)))
    image_id = held["image_id"]
    image = session.get(Image, image_id)
    backup = {kind: storage.path_for(settings, image.storage_key, kind).read_bytes()
              for kind in storage.KINDS}  # an older backup of the files
    assert client.get(f"/images/{image_id}/display").status_code == 200

    r = _withdraw(client, image_id)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["image_id"], done["reason"], done["withdrawn_by"]) == (
        image_id, REASON, supervisor.username)
    assert done["key_destroyed"] and done["evidence_ids"] == [held["evidence_id"]]

    assert stored_files(settings) == []  # both files deleted
    session.expire_all()
    image = session.get(Image, image_id)
    assert image.wrapped_key == b"" and image.erased_at is not None
    assert (image.phash, image.exif_device, image.exif_taken_at) == (0, "", None)
    with pytest.raises(crypto.SealBroken):  # nothing left to unwrap: the backup stays sealed
        crypto.unwrap_key(settings.master_key_bytes, image.wrapped_key)
    for kind, blob in backup.items():
        with pytest.raises(crypto.SealBroken):
            crypto.unseal(settings.master_key_bytes, blob, storage_key=image.storage_key,
                          kind=kind)

    gone = client.get(f"/images/{image_id}/display")  # the picture and every thumbnail
    assert gone.status_code == 410 and "withdrawn" in gone.text
    assert gone.headers["content-type"] != "image/jpeg"
    page = client.get(f"/images/{image_id}").text
    assert f"by {supervisor.username}: {REASON}" in page
    assert re.search(r"Withdrawn on \d{1,2} [A-Z][a-z]{2} 20\d\d \d\d:\d\d (GMT|BST)", page)
    assert f'src="/images/{image_id}/display"' not in page
    assert "Withdraw this image</button>" not in page
    api = client.get(f"/api/v1/images/{image_id}").json()
    assert api["erased"] and api["withdrawal"]["reason"] == REASON
    assert api["withdrawal"]["by"] == supervisor.username


def test_refusals_change_nothing(client, make_user, session, settings):
    analyst = make_user("analyst")
    login(client, analyst.username)
    image_id = _upload(client, scenes.jpeg(scenes.room(12)))["image_id"]
    assert _withdraw(client, image_id).status_code == 403
    page = client.get(f"/images/{image_id}").text
    assert "Withdraw this image" not in page  # no form for those who may not
    form = client.post(f"/images/{image_id}/withdraw", data={
        "csrf_token": csrf_from(page), "reason": REASON, "confirm": "yes"})
    assert form.status_code == 403

    login(client, make_user("supervisor").username)
    assert _withdraw(client, 999999).status_code == 404
    assert _withdraw(client, image_id, body={}).status_code == 422  # no reason
    short = _withdraw(client, image_id, body={"reason": "  no "})
    assert short.status_code == 422 and "Give the reason" in short.text
    assert _withdraw(client, image_id, body={"reason": "x" * 501}).status_code == 422
    assert client.request("DELETE", f"/api/v1/images/{image_id}",
                          headers={"X-CSRF-Token": page_csrf(client)}).status_code == 422
    session.expire_all()
    assert session.get(Image, image_id).erased_at is None
    assert len(stored_files(settings)) == 2
    assert client.get(f"/images/{image_id}/display").status_code == 200

    assert _withdraw(client, image_id).status_code == 200
    again = _withdraw(client, image_id)
    assert again.status_code == 409 and "already withdrawn" in again.text


def test_the_page_form_needs_a_reason_and_a_confirmation(client, supervisor, session):
    image_id = _upload(client, scenes.jpeg(scenes.room(13)))["image_id"]
    page = client.get(f"/images/{image_id}").text
    assert "Withdraw this image</button>" in page
    token = csrf_from(page)
    unconfirmed = client.post(f"/images/{image_id}/withdraw",
                              data={"csrf_token": token, "reason": REASON})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert REASON in unconfirmed.text  # what was typed is kept
    no_reason = client.post(f"/images/{image_id}/withdraw",
                            data={"csrf_token": token, "reason": "", "confirm": "yes"})
    assert no_reason.status_code == 422 and "Give the reason" in no_reason.text
    no_token = client.post(f"/images/{image_id}/withdraw",
                           data={"reason": REASON, "confirm": "yes"})
    assert no_token.status_code == 403
    session.expire_all()
    assert session.get(Image, image_id).erased_at is None

    done = client.post(f"/images/{image_id}/withdraw", follow_redirects=False,
                       data={"csrf_token": token, "reason": REASON, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/images/{image_id}"
    shown = client.get(f"/images/{image_id}").text
    assert f"by {supervisor.username}: {REASON}" in shown and "was withdrawn" in shown


def test_pending_matches_leave_the_queue_and_confirmed_ones_stay(client, supervisor, session):
    a = _upload(client, scenes.jpeg(scenes.room(21)))["image_id"]
    b = _upload(client, scenes.repost(scenes.room(21)))["image_id"]
    c = _upload(client, scenes.jpeg(scenes.room(22)))["image_id"]
    d = _upload(client, scenes.repost(scenes.room(22)))["image_id"]
    pending, kept = _match(session, a, b), _match(session, c, d)
    assert pending.status == kept.status == "pending"
    r = client.post(f"/api/v1/matches/{kept.id}/confirm",
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.text
    queue = client.get("/review").text
    assert f'href="/images/{b}"' in queue

    assert _withdraw(client, a).json()["matches_withdrawn"] == [pending.id]
    assert _withdraw(client, c).json()["confirmed_matches_kept"] == [kept.id]
    assert _match(session, a, b).status == "withdrawn"
    assert _match(session, c, d).status == "confirmed"
    queue = client.get("/review").text
    assert f'href="/images/{b}"' not in queue and f"/images/{a}/display" not in queue

    own = client.get(f"/images/{a}/candidates").text  # the withdrawn image's own block
    assert "withdrawn image" in own and f'src="/images/{a}/display"' not in own
    seen_from_b = client.get(f"/images/{b}").text  # the withdrawn candidate, no picture
    assert "withdrawn image" in seen_from_b and f'src="/images/{a}/display"' not in seen_from_b
    assert f"/matches/{pending.id}/confirm" not in seen_from_b  # nobody can confirm it now
    seen_from_d = client.get(f"/images/{d}").text  # the basis stays visible, marked
    assert "withdrawn image" in seen_from_d and f'src="/images/{c}/display"' not in seen_from_d
    assert "badge-confirmed" in seen_from_d
    candidates = client.get(f"/api/v1/images/{d}/candidates").json()["candidates"]
    assert [(x["image_id"], x["status"]) for x in candidates] == [(c, "confirmed")]


def test_the_same_bytes_again_are_a_new_image_matched_afresh(client, supervisor, session,
                                                           settings):
    original = scenes.jpeg(scenes.room(31))
    x = _upload(client, original)["image_id"]
    y = _upload(client, scenes.repost(scenes.room(31)))["image_id"]
    assert _withdraw(client, x).status_code == 200
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("again.jpg", original, "image/jpeg"))])
    assert r.status_code == 201, r.text
    [again] = r.json()["images"]
    assert again["created"] and again["image_id"] not in (x, y)
    assert [c["image_id"] for c in again["candidates"]] == [y]  # matched afresh, not to x
    assert _match(session, again["image_id"], x) is None
    assert client.get(f"/images/{again['image_id']}/display").status_code == 200
    assert client.get(f"/images/{x}/display").status_code == 410
    page = client.get(f"/images/{again['image_id']}").text
    assert "Withdrawn on" not in page and f"/images/{x}\"" not in page  # not linked to it
    session.expire_all()
    rows = session.exec(select(Image).where(Image.sha256 == session.get(Image, x).sha256)
                        .order_by(col(Image.id))).all()
    assert [(i.id, i.erased_at is None) for i in rows] == [(x, False), (again["image_id"], True)]
    # a second upload of the same bytes is the held new image, not a third
    same = _upload(client, original)
    assert same["image_id"] == again["image_id"] and not same["created"]


def test_the_audit_event_names_who_why_and_what_but_holds_no_erased_data(client, supervisor,
                                                                         session):
    held = _upload(client, scenes.jpeg(scenes.room(41)))
    image = session.get(Image, held["image_id"])
    secrets = [image.sha256, str(image.phash), str(image.dhash), image.storage_key]
    last = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    assert _withdraw(client, image.id).status_code == 200
    session.expire_all()
    events = session.exec(select(AuditEvent).where(col(AuditEvent.id) > last)
                          .order_by(col(AuditEvent.id))).all()
    [event] = [e for e in events if e.action == "evidence.image.withdrawn"]
    assert json.loads(event.object_ids) == [str(image.id)] and event.object_type == "image"
    assert (event.actor_name, event.purpose) == (supervisor.username, REASON)
    details = json.loads(event.details)
    assert details["reason"] == REASON and details["evidence_ids"] == [held["evidence_id"]]
    for e in events:  # nothing the withdrawal wrote keeps what was erased
        text = json.dumps([e.details, e.purpose, e.object_ids])
        assert not any(s in text for s in secrets), e.action


def test_a_stage_that_shortlisted_the_image_before_its_withdrawal_stores_no_match(
        client, supervisor, session):
    from app.matching.service import _store

    held = _upload(client, scenes.jpeg(scenes.room(15)))["image_id"]
    other = _upload(client, scenes.jpeg(scenes.room(16)), name="q.jpg")["image_id"]
    assert _withdraw(client, held).status_code == 200
    session.expire_all()
    # what a second stage that read `held` as a candidate just before would store now
    assert _store(session, session.get(Image, other), held, "features", 64, 40) is None
    assert _match(session, held, other) is None
