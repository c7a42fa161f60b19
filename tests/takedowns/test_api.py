"""The JSON API: create, transition with a version, list with filters, claim; a portal
notice is ready to submit until recorded."""


from tests.conftest import page_csrf
from tests.takedowns.helpers import api_draft, sign_in


def _headers(client):
    return {"X-CSRF-Token": page_csrf(client)}


def _move(client, td_id, action, version, **extra):
    return client.post(f"/api/v1/takedowns/{td_id}/transitions", headers=_headers(client),
                       json={"action": action, "version": version, **extra})


def test_create_transition_and_list(client, session, world):
    sign_in(client, world.analyst)
    made = client.post("/api/v1/takedowns", headers=_headers(client),
                       json={"account_id": world.account.id,
                             **api_draft(world, reason="Drone drop coordination from a cell.")})
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
    ready = _move(client, body["id"], "send", 3)
    assert ready.status_code == 200
    assert ready.json()["notice"]["delivery"] == "manual"
    assert ready.json()["state"] == "ready_to_submit" and ready.json()["first_sent_at"] is None
    early = _move(client, body["id"], "acknowledge", 4)
    assert early.status_code == 409  # nothing went yet: the platform cannot have answered
    naive = _move(client, body["id"], "submitted", 4, at="2026-11-21T10:00:00")
    assert naive.status_code == 422 and "time zone" in naive.json()["message"]
    future = _move(client, body["id"], "submitted", 4, at="2099-01-01T10:00:00Z")
    assert future.status_code == 422
    sent = _move(client, body["id"], "submitted", 4, reference="LE-5521")
    assert sent.status_code == 200 and sent.json()["state"] == "sent"
    assert sent.json()["notice"]["number"] == 1 and sent.json()["first_sent_at"]

    listed = client.get("/api/v1/takedowns?platform=instagram&establishment=MDI").json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]
    assert client.get("/api/v1/takedowns?platform=myspace").status_code == 422
    assert client.get("/api/v1/takedowns?state=sent&platform=x").json()["items"] == []
    one = client.get(f"/api/v1/takedowns/{body['id']}").json()
    assert [e["to"] for e in one["events"]] == ["draft", "awaiting_approval", "approved",
                                                "ready_to_submit", "sent"]
    assert one["notices"][0]["number"] == 1
    assert client.get("/api/v1/takedowns/424242").status_code == 404
