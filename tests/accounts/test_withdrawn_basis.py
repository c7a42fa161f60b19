"""An attribution resting on a withdrawn image is kept as it was and shown as resting on a
withdrawn image; the account page shows who withdrew the image and why instead of it."""

from sqlmodel import select

from app.accounts.models import Attribution
from tests.accounts.test_attribution import _confirm, _matched_account
from tests.conftest import login, page_csrf

REASON = "A court order: this post must not be held"


def test_the_basis_is_kept_and_marked(client, make_user, estate, session):
    account_id, match_id = _matched_account(client, make_user, estate, 74, "2025-03-01T10:00")
    _confirm(client, match_id)
    [suggested] = session.exec(select(Attribution).where(
        Attribution.account_id == account_id)).all()
    account = client.get(f"/api/v1/accounts/{account_id}").json()
    image_id = account["images"][0]["image_id"]
    assert [a["basis_image_withdrawn"] for a in account["attributions"]] == [False]

    supervisor = make_user("supervisor")
    login(client, supervisor.username)
    r = client.request("DELETE", f"/api/v1/images/{image_id}",
                       headers={"X-CSRF-Token": page_csrf(client)}, json={"reason": REASON})
    assert r.status_code == 200, r.text
    assert r.json()["confirmed_matches_kept"] == [match_id]
    assert r.json()["account_ids"] == [account_id]

    session.expire_all()
    kept = session.get(Attribution, suggested.id)
    assert (kept.status, kept.match_id, kept.basis) == ("suggested", match_id, suggested.basis)
    account = client.get(f"/api/v1/accounts/{account_id}").json()
    assert [a["basis_image_withdrawn"] for a in account["attributions"]] == [True]
    page = client.get(f"/accounts/{account_id}").text
    assert "basis image withdrawn" in page
    assert f"by {supervisor.username}: {REASON}" in page
    assert f'src="/images/{image_id}/display"' not in page
