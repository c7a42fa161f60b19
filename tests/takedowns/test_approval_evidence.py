"""The approver sees the evidence on the takedown's page (images, matches, attribution basis),
audited; there is no bulk approval; a platform that tells the account holder is flagged."""

from datetime import UTC, date, datetime

from sqlmodel import select

from app.accounts.models import Attribution
from app.estate.models import Cell, Prisoner
from app.takedowns.models import PlatformSettings, Takedown
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.conftest import csrf_from, page_csrf
from tests.takedowns.helpers import (
    act,
    api_draft,
    audits,
    details,
    draft_form,
    fresh,
    sign_in,
)


def _prisoner(session, number="A1234BC"):
    p = Prisoner(prison_number=number, surname="Doe", forenames="John", surname_key="doe",
                 forenames_key="john", date_of_birth=date(1990, 3, 14))
    session.add(p)
    session.flush()
    return p


def _submitted(client, session, world, evidence=None):
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    ids = [e.id for e in (evidence or world.evidence)]
    r = client.post(f"/accounts/{world.account.id}/takedowns", follow_redirects=False,
                    data=draft_form(ids, csrf_from(form.text)))
    assert r.status_code == 303
    td = session.exec(select(Takedown)).one()
    assert act(client, session, td.id, "submit").status_code == 303
    return td


def test_the_approver_sees_images_matches_and_the_attribution_basis(client, session, world):
    prisoner = _prisoner(session)
    cell = session.exec(select(Cell)).one()
    session.add(Attribution(account_id=world.account.id, prisoner_id=prisoner.id,
                            status="confirmed", basis_kind="cell_match", cell_id=cell.id,
                            basis="Cell MDI A-1-014 on 1 Nov 2026 (post time): occupant",
                            photo_time=datetime(2026, 11, 1, 21, tzinfo=UTC)))
    session.commit()
    td = _submitted(client, session, world, evidence=[world.evidence[0]])
    sign_in(client, world.sup1)
    page = client.get(f"/takedowns/{td.id}").text
    evidence = page[page.index('<section id="basis">'):]
    assert f"/images/{world.images[0].id}/display" in evidence
    assert world.evidence[0].post_url in evidence and world.images[0].sha256 in evidence
    assert "cell MDI A-1-014" in evidence and "near-duplicate (perceptual hash)" in evidence
    assert "A1234BC Doe, John" in evidence and "confirmed" in evidence
    assert "Cell MDI A-1-014 on 1 Nov 2026 (post time): occupant" in evidence
    assert evidence.index("A1234BC") > evidence.index("cell MDI A-1-014")
    assert page.index('<section id="basis">') < page.index('value="approve"')  # read first
    viewed = details(audits(session, "takedown.view")[-1])
    assert (viewed["image_ids"], viewed["prisoner_ids"]) == ([world.images[0].id],
                                                             [prisoner.id])


def test_bulk_approval_is_gone_and_the_board_sends_approvers_to_the_evidence(client, session,
                                                                            world):
    td = _submitted(client, session, world)
    sign_in(client, world.sup1)
    board = client.get("/takedowns").text
    assert "bulk-approve" not in board and "Approve ticked" not in board
    assert f'href="/takedowns/{td.id}#basis">review the evidence and approve' in board
    token = csrf_from(board)
    gone = client.post("/takedowns/bulk-approve", data={"ids": [str(td.id)], "csrf_token": token})
    assert gone.status_code in (404, 405)
    r = client.post("/api/v1/takedowns/bulk-approve", json={"ids": [td.id]},
                    headers={"X-CSRF-Token": token})
    assert r.status_code in (404, 405, 422)
    assert fresh(session, td.id).state == "awaiting_approval"


def test_a_platform_that_tells_the_account_holder_is_flagged_before_sending(client, session,
                                                                           world):
    session.merge(PlatformSettings(platform="instagram", channel="portal",
                                   address="https://www.facebook.com/records",
                                   template=DEFAULT_TEMPLATE, tells_holder=True,
                                   tells_holder_note="It emails the user a copy of the request."))
    session.commit()
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{world.account.id}/takedowns/new").text
    assert "Instagram is known to tell the account holder about requests." in form
    assert "It emails the user a copy of the request." in form
    td = _submitted(client, session, world)
    sign_in(client, world.sup1)
    page = client.get(f"/takedowns/{td.id}").text
    assert 'id="tells-holder"' in page and "Consider requesting the cell search first" in page
    api = client.get(f"/api/v1/takedowns/{td.id}").json()
    assert api["platform_tells_holder"] is True
    assert act(client, session, td.id, "approve").status_code == 303
    assert 'id="tells-holder"' in client.get(f"/takedowns/{td.id}").text  # until it is sent


def test_platform_setting_is_saved_audited_and_shown(client, session, as_role):
    client, _ = as_role("supervisor")
    page = client.get("/takedowns/platforms").text
    r = client.post("/takedowns/platforms/x", follow_redirects=False, data={
        "channel": "portal", "address": "https://legalrequests.x.com", "renotice_hours": "24",
        "target_hours": "24", "template": DEFAULT_TEMPLATE, "tells_holder": "yes",
        "tells_holder_note": "Notifies the user unless prohibited.",
        "csrf_token": csrf_from(page)})
    assert r.status_code == 303
    row = session.get(PlatformSettings, "x")
    assert (row.tells_holder, row.tells_holder_note) == (True, "Notifies the user unless "
                                                               "prohibited.")
    change = details(audits(session, "platform.update")[-1])["changed"]
    assert change["tells_holder"] == [False, True]
    assert "Notifies the user unless prohibited." in client.get("/takedowns/platforms").text


def test_api_drafts_previews_and_refuses_field_by_field(client, session, world):
    sign_in(client, world.analyst)
    headers = {"X-CSRF-Token": page_csrf(client)}
    bad = client.post("/api/v1/takedowns", headers=headers, json={
        "account_id": world.account.id, **api_draft(world, evidence_ids=[], contact="x" * 12,
                                                    good_faith=False)})
    assert bad.status_code == 422
    fields = bad.json()["detail"]["fields"]
    assert set(fields) == {"evidence_ids", "contact", "good_faith"}
    assert session.exec(select(Takedown)).all() == []

    made = client.post("/api/v1/takedowns", headers=headers, json={
        "account_id": world.account.id, **api_draft(world,
                                                    evidence_ids=[world.evidence[1].id])})
    assert made.status_code == 201
    body = made.json()
    assert body["evidence_ids"] == [world.evidence[1].id]
    assert world.evidence[1].post_url in body["preview"]["body"]
    assert body["preview"]["pack_sha256"] and body["legal_basis"].startswith("Prison Act")
    assert [i["evidence_id"] for i in body["basis"]["images"]] == [world.evidence[1].id]

    changed = client.put(f"/api/v1/takedowns/{body['id']}", headers=headers, json={
        **api_draft(world, evidence_ids=[world.evidence[0].id]), "version": body["version"]})
    assert changed.status_code == 200
    after = changed.json()
    assert after["evidence_ids"] == [world.evidence[0].id]
    assert after["preview"]["pack_sha256"] != body["preview"]["pack_sha256"]
    images = after["basis"]["images"]
    assert images[0]["matches"][0]["cells"] == ["MDI A-1-014"]
    stale = client.put(f"/api/v1/takedowns/{body['id']}", headers=headers, json={
        **api_draft(world), "version": body["version"]})
    assert stale.status_code == 409
