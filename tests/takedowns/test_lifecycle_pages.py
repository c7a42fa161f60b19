"""The whole lifecycle through the pages: draft, four-eyes approval, send, outcome."""

from email import message_from_bytes

from sqlmodel import select

from app.accounts.models import AccountStatus
from app.takedowns.models import Notice, Takedown
from tests.conftest import csrf_from
from tests.takedowns.helpers import act, audits, details, events_of, fresh, sign_in, unzip


def _create(client, world, submit="yes"):
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    assert form.status_code == 200 and "2 images" in form.text
    return client.post(f"/accounts/{world.account.id}/takedowns", follow_redirects=False,
                       data={"reason": "Photos from inside a cell, taunting a victim.",
                             "submit": submit, "csrf_token": csrf_from(form.text)})


def test_draft_approve_send_acknowledge_remove(client, session, world):
    sign_in(client, world.analyst)
    created = _create(client, world)
    assert created.status_code == 303
    td = session.exec(select(Takedown)).one()
    assert created.headers["location"] == f"/takedowns/{td.id}"
    assert fresh(session, td.id).state == "awaiting_approval"

    page = client.get(f"/takedowns/{td.id}").text
    assert "Approve" not in page and "Withdraw" in page  # buttons come from the machine
    refused = act(client, session, td.id, "approve")
    assert refused.status_code == 403 and "may not approve" in refused.text
    assert fresh(session, td.id).state == "awaiting_approval"

    sign_in(client, world.sup1)
    assert 'value="approve"' in client.get(f"/takedowns/{td.id}").text
    assert act(client, session, td.id, "approve").status_code == 303
    td = fresh(session, td.id)
    assert td.state == "approved" and td.approver_id == world.sup1.id

    sign_in(client, world.analyst)
    assert act(client, session, td.id, "send").status_code == 303
    td = fresh(session, td.id)
    assert (td.state, td.notices_sent) == ("sent", 1)
    assert td.target_due_at is not None and td.next_notice_due_at is not None
    assert session.get(type(world.account), world.account.id).status == \
        AccountStatus.takedown_requested.value
    notice = session.exec(select(Notice).where(Notice.takedown_id == td.id)).one()
    assert (notice.number, notice.channel, notice.delivery) == (1, "portal", "manual")
    assert world.account.handle in notice.body and "Photos from inside a cell" in notice.body

    eml = client.get(f"/takedowns/{td.id}/notices/1.eml")
    assert eml.status_code == 200 and eml.headers["content-type"] == "message/rfc822"
    assert eml.headers["cache-control"] == "no-store"
    message = message_from_bytes(eml.content)
    assert message["Subject"].startswith(f"Takedown request TD-{td.id}")
    attachment = next(p for p in message.walk() if p.get_filename())
    manifest, _ = unzip(attachment.get_payload(decode=True))
    assert {i["sha256"] for i in manifest["images"]} == {i.sha256 for i in world.images}
    shared = [details(e) for e in audits(session, "takedown.disclosure")]
    assert [d["via"] for d in shared] == ["sent", "eml download"]
    assert shared[1]["recipient"] == "https://www.facebook.com/records"

    ack = act(client, session, td.id, "acknowledge", reference="IG-2026-991",
              at="2026-01-01T09:00")
    assert ack.status_code == 422 and "before the first notice" in ack.text
    assert act(client, session, td.id, "acknowledge", reference="IG-2026-991").status_code == 303
    assert act(client, session, td.id, "removed").status_code == 303
    td = fresh(session, td.id)
    assert (td.state, td.platform_reference) == ("removed", "IG-2026-991")
    assert td.acknowledged_at and td.resolved_at and td.next_notice_due_at is None
    assert session.get(type(world.account), world.account.id).status == \
        AccountStatus.removed.value
    assert [(e.from_state, e.to_state) for e in events_of(session, td.id)] == [
        ("", "draft"), ("draft", "awaiting_approval"), ("awaiting_approval", "approved"),
        ("approved", "sent"), ("sent", "acknowledged"), ("acknowledged", "removed")]
    for action in ("create", "submit", "approve", "send", "acknowledge", "removed"):
        assert len(audits(session, f"takedown.{action}")) == 1, action
    assert "acknowledged → removed" in client.get(f"/takedowns/{td.id}").text


def test_refusal_needs_a_reason_and_reopens_the_account(client, session, world):
    sign_in(client, world.analyst)
    _create(client, world)
    td = session.exec(select(Takedown)).one()
    sign_in(client, world.sup2)
    act(client, session, td.id, "approve")
    act(client, session, td.id, "send")
    no_reason = act(client, session, td.id, "refused")
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text
    assert fresh(session, td.id).state == "sent"
    assert act(client, session, td.id, "refused", note="Not against our terms").status_code == 303
    td = fresh(session, td.id)
    assert (td.state, td.refusal_reason) == ("refused", "Not against our terms")
    assert session.get(type(world.account), world.account.id).status == \
        AccountStatus.under_review.value


def test_stale_page_gets_409_and_changes_nothing(client, session, world):
    sign_in(client, world.analyst)
    _create(client, world, submit="")
    td = session.exec(select(Takedown)).one()
    old = fresh(session, td.id).version
    assert act(client, session, td.id, "submit").status_code == 303
    stale = act(client, session, td.id, "withdraw", version=old, note="dup")
    assert stale.status_code == 409 and "changed since you opened it" in stale.text
    assert fresh(session, td.id).state == "awaiting_approval"
    assert len(events_of(session, td.id)) == 2


def test_one_open_takedown_per_account_and_reason_required(client, session, world):
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    short = client.post(f"/accounts/{world.account.id}/takedowns",
                        data={"reason": "bad", "csrf_token": csrf_from(form.text)})
    assert short.status_code == 422 and "Give a reason" in short.text
    assert session.exec(select(Takedown)).all() == []
    assert _create(client, world).status_code == 303
    again = _create(client, world)
    assert again.status_code == 409 and "already has an open takedown" in again.text
    assert client.get("/accounts/999999/takedowns/new").status_code == 404


def test_pack_download_is_a_disclosure_and_only_for_senders(client, session, world, make_user):
    sign_in(client, world.analyst)
    _create(client, world)
    td = session.exec(select(Takedown)).one()
    sign_in(client, world.sup1)
    act(client, session, td.id, "approve")
    act(client, session, td.id, "send")
    notice = session.exec(select(Notice)).one()
    pack = client.get(f"/takedowns/{td.id}/notices/1/pack")
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    assert pack.headers["cache-control"] == "no-store"
    import hashlib

    assert hashlib.sha256(pack.content).hexdigest() == notice.pack_sha256
    assert [details(e)["via"] for e in audits(session, "takedown.disclosure")] == \
        ["sent", "pack download"]
    assert client.get(f"/takedowns/{td.id}/notices/2/pack").status_code == 404
    assert client.get(f"/takedowns/{td.id}/notices/2.eml").status_code == 404
    page = client.get(f"/takedowns/{td.id}").text
    assert f"/takedowns/{td.id}/notices/1.eml" in page and "Downloads are recorded" in page


def test_only_the_claimer_or_a_supervisor_releases(client, session, world, make_user):
    from app.takedowns import claims
    from tests.takedowns.conftest import doer

    td = Takedown(account_id=world.account.id, platform="instagram", state="approved",
                  reason="r" * 12, author_id=world.analyst.id, claimed_by=world.sup1.id)
    session.add(td)
    session.commit()
    other = make_user("analyst")
    sign_in(client, other)
    page = client.get(f"/takedowns/{td.id}").text
    assert "Release" not in page
    r = client.post(f"/takedowns/{td.id}/release", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 403
    assert fresh(session, td.id).claimed_by == world.sup1.id
    assert claims.release(session, doer(world.sup1), td.id).claimed_by is None
