"""A supervisor erases an account's evidence early, with a reason; an analyst cannot."""

import json

import pytest
from sqlmodel import col, select

from app.accounts.models import Attribution
from app.audit.models import AuditEvent
from app.estate.models import Cell
from app.evidence import crypto, storage
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.engine import MatchEngine
from app.matching.models import Match, MatchRun
from tests.conftest import csrf_from, login, page_csrf
from tests.evidence.conftest import stored_files
from tests.lifecycle.conftest import HANDLE, POST_URL

REASON = "Court order 2026/77: the account was a victim account, not a prisoner account"


def _erase(client, account_id, body=None):
    return client.request("DELETE", f"/api/v1/accounts/{account_id}/evidence",
                          headers={"X-CSRF-Token": page_csrf(client)},
                          json={"reason": REASON} if body is None else body)


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_erasing_destroys_every_key_and_file(client, world, session, settings):
    cell = session.exec(select(Cell).where(Cell.label == "A-1-014")).one()
    photo = ReferencePhoto(image_id=world.images[0], cell_id=cell.id, source="evidence")
    session.add(photo)  # the image was made a photo of its cell
    session.commit()
    login(client, world.supervisor.username)
    index = MatchEngine()
    index.sync(session)
    held_before = index.size()
    r = _erase(client, world.account)
    assert r.status_code == 200, r.text
    done = r.json()
    assert sorted(done["images_erased"]) == sorted(world.images)
    assert (done["evidence_links_removed"], done["evidence_links_kept"]) == (1, 1)
    assert done["matches_kept"] == 1  # the suggested attribution rests on it
    assert done["reference_photos_removed"] == [photo.id]  # early: it leaves the library
    session.expire_all()
    assert session.get(ReferencePhoto, photo.id).removed_at is not None

    session.expire_all()
    for image_id in world.images:
        image = session.get(Image, image_id)
        assert image.erased_at is not None and image.wrapped_key == b"" and image.sha256 == ""
        assert (image.phash, image.dhash, image.exif_device) == (0, 0, "")
        with pytest.raises(crypto.SealBroken):  # no key left to unwrap
            crypto.unwrap_key(settings.master_key_bytes, image.wrapped_key)
        for kind in storage.KINDS:
            assert not storage.path_for(settings, image.storage_key, kind).exists()
        assert client.get(f"/images/{image_id}/display").status_code == 410
    # the reference photo's files are all that is left on disk
    assert len(stored_files(settings)) == 2
    for name, blob in world.backups.items():  # an older backup cannot be opened either
        image = session.get(Image, int(name.split("-")[0]))
        with pytest.raises(crypto.SealBroken):
            crypto.unseal(settings.master_key_bytes, blob, storage_key=image.storage_key,
                          kind=name.split("-")[1])
    index.sync(session)  # the match index drops them on its next refresh
    images_before, photos_before = held_before
    assert index.size() == (images_before - 2, photos_before - 1)


def _packs(settings):
    root = settings.data_dir / "packs"
    return sorted(p for p in root.rglob("*.pack")) if root.exists() else []


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_candidates_runs_and_links_go_and_what_cites_them_stays(client, world, session,
                                                               settings):
    login(client, world.supervisor.username)
    assert len(_packs(settings)) == 1  # the draft's notice #1, with the cited picture
    r = _erase(client, world.account)
    assert r.status_code == 200 and r.json()["packs_removed"] == 1
    assert _packs(settings) == []
    session.expire_all()
    involving = select(Match).where(col(Match.query_image_id).in_(world.images)
                                    | col(Match.candidate_image_id).in_(world.images))
    assert [m.id for m in session.exec(involving).all()] == [world.match]
    assert session.exec(select(MatchRun).where(
        col(MatchRun.image_id).in_(world.images))).all() == []
    kept = session.exec(select(EvidenceImage).where(
        EvidenceImage.account_id == world.account)).all()
    assert [(e.id, e.original_filename) for e in kept] == [(world.evidence[0], "")]
    assert session.get(Attribution, world.attribution) is not None

    takedown = client.get(f"/takedowns/{world.takedown}")
    assert takedown.status_code == 200
    assert f"Image #{world.evidence[0]} erased</strong>" in takedown.text
    assert f": {REASON}</p>" in takedown.text and "not kept (image erased)" in takedown.text
    account = client.get(f"/accounts/{world.account}").text
    assert f"by {world.supervisor.username}: {REASON}" in account
    assert "Erased on " in account and "basis image withdrawn" in account


def test_the_erasure_row_holds_ids_and_counts_only(client, world, session):
    last = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    login(client, world.supervisor.username)
    assert _erase(client, world.account).status_code == 200
    session.expire_all()
    events = session.exec(select(AuditEvent).where(col(AuditEvent.id) > last)).all()
    [row] = [e for e in events if e.action == "evidence.erased"]
    assert (row.object_type, json.loads(row.object_ids)) == ("account", [str(world.account)])
    assert (row.actor_name, row.purpose) == (world.supervisor.username, REASON)
    details = json.loads(row.details)
    assert sorted(details["image_ids"]) == sorted(world.images) and details["early"] is True
    assert all(isinstance(v, (int, bool, list)) for v in details.values())
    text = json.dumps([row.details, row.purpose, row.object_ids, row.actor_name])
    for secret in [*world.secrets, *world.filenames, POST_URL, HANDLE, "instagram"]:
        assert secret not in text, secret


def test_an_analyst_is_refused_and_refusals_change_nothing(client, world, session, settings):
    login(client, world.analyst.username)
    assert _erase(client, world.account).status_code == 403
    assert client.get(f"/accounts/{world.account}/erase").status_code == 403
    assert "Erase this account" not in client.get(f"/accounts/{world.account}").text

    login(client, world.supervisor.username)
    assert _erase(client, 999999).status_code == 404
    assert _erase(client, world.account, body={}).status_code == 422
    short = _erase(client, world.account, body={"reason": " no "})
    assert short.status_code == 422 and "at least 5 characters" in short.text
    assert _erase(client, world.account, body={"reason": "x" * 501}).status_code == 422
    session.expire_all()
    assert all(session.get(Image, i).erased_at is None for i in world.images)
    assert len(stored_files(settings)) == 6  # reference photo and both images, two files each

    assert _erase(client, world.account).status_code == 200
    again = _erase(client, world.account)
    assert again.status_code == 409 and "no evidence left to erase" in again.text


def test_the_page_asks_for_a_reason_and_a_confirmation(client, world, session):
    login(client, world.supervisor.username)
    account_page = client.get(f"/accounts/{world.account}").text
    assert f'href="/accounts/{world.account}/erase"' in account_page
    page = client.get(f"/accounts/{world.account}/erase")
    assert page.status_code == 200 and "2 image(s) not yet erased" in page.text
    token = csrf_from(page.text)
    unconfirmed = client.post(f"/accounts/{world.account}/erase",
                              data={"csrf_token": token, "reason": REASON})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert REASON in unconfirmed.text  # what was typed is kept
    no_reason = client.post(f"/accounts/{world.account}/erase",
                            data={"csrf_token": token, "confirm": "yes"})
    assert no_reason.status_code == 422 and "Give the reason" in no_reason.text
    session.expire_all()
    assert all(session.get(Image, i).erased_at is None for i in world.images)

    done = client.post(f"/accounts/{world.account}/erase", follow_redirects=False,
                       data={"csrf_token": token, "reason": REASON, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/accounts/{world.account}"
    shown = client.get(f"/accounts/{world.account}").text
    assert "Erased 2 image(s) and 1 evidence link(s)" in shown
    assert "Nothing is left to erase." in client.get(f"/accounts/{world.account}/erase").text


def _move(client, td_id, action, version):
    r = client.post(f"/api/v1/takedowns/{td_id}/transitions",
                    headers={"X-CSRF-Token": page_csrf(client)},
                    json={"action": action, "version": version})
    assert r.status_code == 200, r.text


def test_a_sent_notices_pack_with_the_picture_is_gone_410(client, world, settings):
    login(client, world.analyst.username)
    _move(client, world.takedown, "submit", 1)
    login(client, world.supervisor.username)
    _move(client, world.takedown, "approve", 2)
    _move(client, world.takedown, "send", 3)
    pack = f"/takedowns/{world.takedown}/notices/1/pack"
    assert client.get(pack).status_code == 200
    assert _erase(client, world.account).status_code == 200
    assert _packs(settings) == []
    gone = client.get(pack)
    assert gone.status_code == 410
    assert f"pack was erased with image {world.images[0]} ({REASON})" in gone.text
    assert client.get(f"/takedowns/{world.takedown}/notices/1.eml").status_code == 410
    page = client.get(f"/takedowns/{world.takedown}")
    assert page.status_code == 200 and f"Image #{world.evidence[0]} erased" in page.text
    # where its download was: the pack went with the image, and why
    assert f"erased with image {world.images[0]} ({REASON}). A new notice carries a new pack" \
        in page.text


def test_an_image_withdrawn_before_loses_its_digest_too(client, world, session):
    login(client, world.supervisor.username)
    withdrawn = client.request("DELETE", f"/api/v1/images/{world.images[1]}",
                               headers={"X-CSRF-Token": page_csrf(client)},
                               json={"reason": "Posted by someone else after all"})
    assert withdrawn.status_code == 200
    session.expire_all()
    assert session.get(Image, world.images[1]).sha256 != ""  # a withdrawal keeps it
    done = _erase(client, world.account).json()
    assert done["images_erased"] == [world.images[0]]
    session.expire_all()
    assert session.get(Image, world.images[1]).sha256 == ""
    shown = client.get(f"/images/{world.images[1]}").text
    assert "Withdrawn on " in shown and "Posted by someone else after all" in shown
