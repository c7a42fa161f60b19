from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.accounts.models import Account
from tests.accounts.conftest import submit
from tests.conftest import page_csrf
from tests.matching import scenes


def test_queue_orders_by_priority_and_shows_the_factors(as_role, session):
    client, _ = as_role("analyst")
    recent = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    quiet = submit(client, "@quiet_one", platform="x").json()["account"]["id"]
    busy = submit(client, "@busy_one", [scenes.jpeg(scenes.room(91)),
                                        scenes.jpeg(scenes.room(92))],
                  platform="x", posted_at=recent).json()["account"]["id"]
    rows = client.get("/api/v1/accounts").json()["accounts"]
    assert [r["id"] for r in rows] == [busy, quiet]
    assert dict(map(tuple, rows[0]["factors"]))["newest post is recent"] == 30
    page = client.get("/accounts").text
    assert page.index("busy_one") < page.index("quiet_one")
    assert "newest post is recent +30" in page


def test_filters_bulk_assign_and_bulk_close(as_role, make_user, session):
    client, me = as_role("analyst")
    colleague = make_user("analyst")
    ids = [submit(client, f"@acct_{i}", platform="snapchat").json()["account"]["id"]
           for i in range(3)]
    token = page_csrf(client)
    r = client.post("/accounts/bulk", data={"action": "assign", "ids": ids[:2],
                                            "assignee_id": str(colleague.id),
                                            "csrf_token": token}, follow_redirects=True)
    assert "2 account(s) assigned." in r.text
    mine = client.get("/api/v1/accounts", params={"assignee": str(colleague.id)}).json()
    assert sorted(a["id"] for a in mine["accounts"]) == sorted(ids[:2])
    assert client.get("/api/v1/accounts", params={"platform": "x"}).json()["accounts"] == []
    no_reason = client.post("/accounts/bulk", data={"action": "close", "ids": ids,
                                                    "csrf_token": token})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert all(session.get(Account, i).status == "new" for i in ids)
    client.post("/accounts/bulk", data={"action": "close", "ids": ids[2:], "csrf_token": token,
                                        "reason": "Not a prisoner: staff member's account"})
    closed = session.get(Account, ids[2])
    session.refresh(closed)
    assert closed.status == "no_further_action" and "staff member" in closed.closed_reason
    open_ids = [a["id"] for a in client.get("/api/v1/accounts").json()["accounts"]]
    assert ids[2] not in open_ids
    assert session.exec(select(Account).where(Account.assignee_id == colleague.id)).all()


def test_stale_status_change_is_a_409(as_role, session):
    client, _ = as_role("analyst")
    account_id = submit(client, "@versioned", platform="x").json()["account"]["id"]
    account = session.get(Account, account_id)
    stale = account.version
    token = page_csrf(client)
    ok = client.post(f"/accounts/{account_id}/status", data={
        "status": "under_review", "version": stale, "csrf_token": token},
        follow_redirects=False)
    assert ok.status_code == 303
    again = client.post(f"/accounts/{account_id}/status", data={
        "status": "new", "version": stale, "csrf_token": token})
    assert again.status_code == 409 and "Someone else changed this account" in again.text


def test_priorities_age_with_the_newest_post(as_role, session):
    from app.accounts.service import refresh_recent_priorities

    client, _ = as_role("analyst")
    posted = (datetime.now(UTC) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M")
    account_id = submit(client, "@ageing", [scenes.jpeg(scenes.room(93))], platform="x",
                        posted_at=posted).json()["account"]["id"]
    account = session.get(Account, account_id)
    session.refresh(account)
    assert '"recent_post": 30' in account.priority_factors
    account.newest_post_at = datetime.now(UTC) - timedelta(days=3)  # time passes
    from app.evidence.models import EvidenceImage

    for ev in session.exec(select(EvidenceImage).where(EvidenceImage.account_id == account_id)):
        ev.posted_at = account.newest_post_at
        session.add(ev)
    session.commit()
    assert refresh_recent_priorities(session) == 1
    session.refresh(account)
    assert '"recent_post": 20' in account.priority_factors


def test_the_api_queue_lists_every_status_the_document_declares(as_role):
    """The document's status enum is exactly what the queue takes (AccountStatus and open)."""
    from app.accounts.models import AccountStatus

    client, _ = as_role("analyst")
    schema = client.get("/openapi.json").json()
    params = schema["paths"]["/api/v1/accounts"]["get"]["parameters"]
    declared = next(p["schema"]["enum"] for p in params if p["name"] == "status")
    assert set(declared) == {"", "open"} | {s.value for s in AccountStatus}
    for status in declared:
        assert client.get(f"/api/v1/accounts?status={status}").status_code == 200, status
