"""The JSON API: create, transition with a version, list with filters, claim, bulk approve."""

from sqlmodel import select

from app.takedowns.models import Takedown
from tests.conftest import page_csrf
from tests.takedowns.helpers import events_of, fresh, sign_in


def _headers(client):
    return {"X-CSRF-Token": page_csrf(client)}


def _move(client, td_id, action, version, **extra):
    return client.post(f"/api/v1/takedowns/{td_id}/transitions", headers=_headers(client),
                       json={"action": action, "version": version, **extra})


def test_create_transition_and_list(client, session, world):
    sign_in(client, world.analyst)
    made = client.post("/api/v1/takedowns", headers=_headers(client),
                       json={"account_id": world.account.id,
                             "reason": "Drone drop coordination from a cell."})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["state"], body["version"], body["ref"]) == ("draft", 1, f"TD-{body['id']}")

    moved = _move(client, body["id"], "submit", 1)
    assert moved.status_code == 200 and moved.json()["state"] == "awaiting_approval"
    stale = _move(client, body["id"], "withdraw", 1, note="oops")
    assert stale.status_code == 409 and "changed since you opened it" in stale.json()["message"]
    unknown = _move(client, body["id"], "explode", 2)
    assert unknown.status_code == 422
    own = _move(client, body["id"], "approve", 2)
    assert own.status_code == 403

    sign_in(client, world.sup1)
    approved = _move(client, body["id"], "approve", 2)
    assert approved.status_code == 200 and approved.json()["approver_id"] == world.sup1.id
    sent = _move(client, body["id"], "send", 3)
    assert sent.status_code == 200
    assert sent.json()["notice"]["delivery"] == "manual" and sent.json()["state"] == "sent"
    naive = _move(client, body["id"], "acknowledge", 4, at="2026-11-21T10:00:00")
    assert naive.status_code == 422 and "time zone" in naive.json()["message"]
    future = _move(client, body["id"], "acknowledge", 4, at="2099-01-01T10:00:00Z")
    assert future.status_code == 422

    listed = client.get("/api/v1/takedowns?platform=instagram&establishment=MDI").json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    assert client.get("/api/v1/takedowns?platform=myspace").status_code == 422
    assert client.get("/api/v1/takedowns?state=sent&platform=x").json()["items"] == []
    one = client.get(f"/api/v1/takedowns/{body['id']}").json()
    assert [e["to"] for e in one["events"]] == ["draft", "awaiting_approval", "approved", "sent"]
    assert one["notices"][0]["number"] == 1
    assert client.get("/api/v1/takedowns/424242").status_code == 404


def test_bulk_approve_reports_what_the_four_eyes_rule_refuses(client, session, world):
    ids = {}
    for who in ("analyst", "sup2"):
        sign_in(client, getattr(world, who))
        r = client.post("/api/v1/takedowns", headers=_headers(client),
                        json={"account_id": world.account.id, "reason": f"Reason by {who}!"})
        ids[who] = r.json()["id"]
        assert _move(client, ids[who], "submit", 1).status_code == 200
        if who == "analyst":  # one open takedown per account: finish this one first
            sign_in(client, world.sup1)
            _move(client, ids[who], "return", 2, note="hold on")
            sign_in(client, world.analyst)
            _move(client, ids[who], "withdraw", 3, note="replaced")
    sign_in(client, world.sup2)
    r = client.post("/api/v1/takedowns", headers=_headers(client),
                    json={"account_id": world.account.id, "reason": "third, left in draft"})
    assert r.status_code == 409  # sup2's is still open
    sign_in(client, world.analyst)
    result = client.post("/api/v1/takedowns/bulk-approve", headers=_headers(client),
                         json={"ids": [ids["sup2"]]})
    assert result.status_code == 403  # analysts do not approve at all
    sign_in(client, world.sup2)
    result = client.post("/api/v1/takedowns/bulk-approve", headers=_headers(client),
                         json={"ids": [ids["sup2"], ids["analyst"], 999999]}).json()
    assert result["approved"] == []
    reasons = {r["id"]: r["reason"] for r in result["refused"]}
    assert "other than the author" in reasons[ids["sup2"]]
    assert "withdrawn" in reasons[ids["analyst"]]
    assert "no takedown" in reasons[999999]
    sign_in(client, world.sup1)
    result = client.post("/api/v1/takedowns/bulk-approve", headers=_headers(client),
                         json={"ids": [ids["sup2"]]}).json()
    assert result == {"approved": [ids["sup2"]], "refused": []}
    assert fresh(session, ids["sup2"]).state == "approved"
    assert len([e for e in events_of(session, ids["sup2"]) if e.to_state == "approved"]) == 1


def test_bulk_approve_page_flashes_each_refusal(client, session, world, make_user):
    sign_in(client, world.sup1)
    page = client.get(f"/accounts/{world.account.id}/takedowns/new")
    from tests.conftest import csrf_from

    client.post(f"/accounts/{world.account.id}/takedowns", data={
        "reason": "Supervisor's own takedown", "submit": "yes",
        "csrf_token": csrf_from(page.text)})
    td = session.exec(select(Takedown)).one()
    board = client.get("/takedowns").text
    assert 'action="/takedowns/bulk-approve"' in board and "yours" in board
    r = client.post("/takedowns/bulk-approve", data={"ids": [str(td.id)],
                                                    "csrf_token": csrf_from(board)})
    assert r.status_code == 200  # redirected back to the board, which shows the flashes
    assert f"TD-{td.id} not approved: Approval must come from a supervisor other than the " \
           "author." in r.text
    assert fresh(session, td.id).state == "awaiting_approval"
