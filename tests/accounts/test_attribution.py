"""Attribution across occupancy boundaries, from a confirmed cell match."""

import pytest
from sqlmodel import select

from app.accounts.models import Account, Attribution
from tests.accounts.conftest import scene_photos, submit, upload_reference
from tests.conftest import login, page_csrf


def _matched_account(client, make_user, estate, seed, posted_at=None, account="@a_user"):
    reference, repost = scene_photos(seed)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], reference)
    login(client, make_user("analyst").username)
    r = submit(client, account, [repost], platform="instagram", posted_at=posted_at)
    assert r.status_code == 201, r.text
    body = r.json()
    image_id = body["images"][0]["image_id"]
    detail = client.get(f"/api/v1/images/{image_id}/candidates").json()
    match_id = [c for c in detail["candidates"] if c["cells"]][0]["match_id"]
    return body["account"]["id"], match_id


def _confirm(client, match_id):
    r = client.post(f"/api/v1/matches/{match_id}/confirm",
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.text
    return r.json()


def _suggested(session, account_id):
    rows = session.exec(select(Attribution).where(Attribution.account_id == account_id)).all()
    return {r.prisoner_id: r for r in rows}


@pytest.mark.parametrize("posted_at, expected", [
    ("2025-03-10T12:00", {"adams", "baker"}),   # the move day: both, each saying so
    ("2025-03-09T23:30", {"adams"}),            # the evening before
    ("2026-01-15T09:00", {"baker"}),            # an open-ended stay is current
    ("2025-01-20T09:00", {"adams", "cole"}),    # cellmates at the time
    ("2024-01-01T09:00", set()),                # before anyone's stay
])
def test_occupants_at_the_photo_time_are_suggested(client, make_user, estate, session,
                                                   posted_at, expected):
    account_id, match_id = _matched_account(client, make_user, estate, 71, posted_at)
    assert _confirm(client, match_id)["attributions_suggested"] == len(expected)
    found = _suggested(session, account_id)
    assert set(found) == {estate[name].id for name in expected}
    for row in found.values():
        assert row.status == "suggested" and row.time_source == "post"
        assert "by post time" in row.basis and "A-1-014 at MDI" in row.basis
    if expected == {"adams", "baker"}:
        assert "moved out that day" in found[estate["adams"].id].basis
        assert "moved in that day" in found[estate["baker"].id].basis


def test_without_a_post_time_the_intake_time_is_used_and_said(client, make_user, estate,
                                                              session):
    account_id, match_id = _matched_account(client, make_user, estate, 72)
    _confirm(client, match_id)
    found = _suggested(session, account_id)
    assert set(found) == {estate["baker"].id}  # today: only the current occupant
    assert found[estate["baker"].id].time_source == "intake"
    assert "by intake time" in found[estate["baker"].id].basis


def test_confirming_an_attribution_updates_the_account(client, make_user, estate, session):
    account_id, match_id = _matched_account(client, make_user, estate, 73, "2025-03-01T10:00")
    _confirm(client, match_id)
    row = _suggested(session, account_id)[estate["adams"].id]
    r = client.post(f"/attributions/{row.id}/confirm", data={"csrf_token": page_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303
    account = session.get(Account, account_id)
    session.refresh(account)
    assert account.status == "attributed"
    assert account.establishment_id == estate["establishment"].id
    assert "victim_contact" in account.priority_factors  # Adams's flag raises the priority
    again = client.post(f"/attributions/{row.id}/reject", data={"csrf_token": page_csrf(client)})
    assert again.status_code == 409


def test_manual_attribution_needs_a_reason(as_role, estate, session):
    client, _ = as_role("analyst")
    account_id = submit(client, "@handmade", platform="x").json()["account"]["id"]
    token = page_csrf(client)
    short = client.post(f"/accounts/{account_id}/attributions",
                        data={"prison_number": "B2222BB", "reason": "hunch", "csrf_token": token})
    assert short.status_code == 422 and "reason" in short.text
    ok = client.post(f"/accounts/{account_id}/attributions",
                     data={"prison_number": "b2222bb", "csrf_token": token,
                           "reason": "Named himself in a video posted 2025-04-01"},
                     follow_redirects=False)
    assert ok.status_code == 303
    [row] = session.exec(select(Attribution).where(Attribution.account_id == account_id)).all()
    assert row.status == "confirmed" and row.basis_kind == "manual"
    account = session.get(Account, account_id)
    session.refresh(account)
    assert account.establishment_id == estate["establishment"].id  # Baker's cell now
    extra = client.post(f"/accounts/{account_id}/attributions",
                        data={"prison_number": "A1111AA", "csrf_token": token,
                              "reason": "Same phone seen in a second account's video"},
                        follow_redirects=False)
    assert extra.status_code == 303  # more than one prisoner per account is allowed
