"""A removed account's photo on a new account: linked, re-emerged, raised, attributed."""

from sqlmodel import select

from app.accounts.models import Account, AccountLink, AccountStatus, Attribution
from app.accounts.service import set_status
from tests.accounts.conftest import submit
from tests.conftest import TEST_ACTOR, page_csrf
from tests.matching import scenes


def test_removed_account_reappears_under_a_new_name(as_role, estate, session):
    client, _ = as_role("analyst")
    rgb = scenes.room(81)
    first = submit(client, "https://www.instagram.com/old_name/", [scenes.jpeg(rgb)]).json()
    old_id = first["account"]["id"]
    token = page_csrf(client)
    client.post(f"/accounts/{old_id}/attributions", data={
        "prison_number": "A1111AA", "csrf_token": token,
        "reason": "Admitted running the account in interview"})
    old = session.get(Account, old_id)
    set_status(session, TEST_ACTOR, old, AccountStatus.removed, note="platform removed it")
    session.commit()

    second = submit(client, "https://www.instagram.com/new_name/", [scenes.repost(rgb)]).json()
    new_id = second["account"]["id"]
    new = session.get(Account, new_id)
    session.refresh(new)
    assert new.status == "re_emerged" and new.re_emerged_from_id == old_id
    kinds = {link.kind for link in session.exec(select(AccountLink)).all()}
    assert kinds == {"shared_image", "re_emergence"}
    carried = session.exec(select(Attribution).where(Attribution.account_id == new_id)).one()
    assert carried.status == "suggested" and carried.basis_kind == "re_emergence"
    assert "removed by its platform" in carried.basis
    assert new.priority >= 50 and "re_emerged" in new.priority_factors
    page = client.get(f"/accounts/{new_id}").text
    assert "Re-emerged" in page and "old_name" in page
    queue = client.get("/api/v1/accounts").json()["accounts"]
    assert queue[0]["id"] == new_id  # top of the triage queue


def test_accounts_sharing_a_photo_are_linked_with_the_pair_as_evidence(as_role, session):
    client, _ = as_role("analyst")
    rgb = scenes.room(82)
    a = submit(client, "@first_one", [scenes.jpeg(rgb)], platform="tiktok").json()
    b = submit(client, "@second_one", [scenes.repost(rgb)], platform="tiktok").json()
    [link] = session.exec(select(AccountLink)).all()
    assert {link.account_id, link.other_account_id} == {a["account"]["id"], b["account"]["id"]}
    assert link.kind == "shared_image" and link.match_id is not None
    assert session.get(Account, a["account"]["id"]).status == "new"  # not re-emerged
