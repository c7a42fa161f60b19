"""The whole lifecycle through the pages: draft with chosen images and a previewed notice,
four-eyes approval beside the evidence, a portal notice ready to submit until recorded,
outcome."""

from email import message_from_bytes

from sqlmodel import select

from app.accounts.models import AccountStatus
from app.takedowns.models import Notice, NoticePreview, Takedown
from tests.conftest import csrf_from
from tests.takedowns.helpers import (
    act,
    audits,
    details,
    draft_form,
    events_of,
    fresh,
    sign_in,
    unzip,
)


def _create(client, world, submit="yes", evidence=None):
    """Draft through the form (then submit for approval, as a person does after the
    preview)."""
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    assert form.status_code == 200
    ids = [e.id for e in (evidence or world.evidence)]
    made = client.post(f"/accounts/{world.account.id}/takedowns", follow_redirects=False,
                       data=draft_form(ids, csrf_from(form.text)))
    if made.status_code != 303 or submit != "yes":
        return made
    td_id = int(made.headers["location"].split("/")[2].split("#")[0])
    assert act(client, None, td_id, "submit", version=1).status_code == 303
    return made


def test_draft_preview_approve_submit_on_portal_and_remove(client, session, world):
    first, second = world.evidence
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{world.account.id}/takedowns/new").text
    for e in world.evidence:
        assert f'name="evidence_ids" value="{e.id}"' in form
    created = _create(client, world, submit="", evidence=[first])
    assert created.status_code == 303
    td = session.exec(select(Takedown)).one()
    assert created.headers["location"] == f"/takedowns/{td.id}#preview"
    assert td.state == "draft"

    # the preview is notice #1 itself: only the chosen image, and all a platform needs
    preview = session.get(NoticePreview, td.id)
    page = client.get(f"/takedowns/{td.id}").text
    assert "Notice #1 as it will go" in page and preview.pack_sha256 in page
    for part in (first.post_url, "Prison Act 1952, section 40D", "du@prisons.example",
                 "I state in good faith", world.account.handle):
        assert part in preview.body, part
        assert part in page, part
    assert second.post_url not in preview.body and second.post_url not in page

    assert act(client, session, td.id, "submit").status_code == 303
    page = client.get(f"/takedowns/{td.id}").text
    assert "Approve" not in page and "Withdraw" in page  # buttons come from the machine
    refused = act(client, session, td.id, "approve")
    assert refused.status_code == 403 and "may not approve" in refused.text
    assert fresh(session, td.id).state == "awaiting_approval"

    # the approver sees the image, its cell match and the attribution basis on this page
    sign_in(client, world.sup1)
    page = client.get(f"/takedowns/{td.id}").text
    assert 'value="approve"' in page
    assert f"/images/{world.images[0].id}/display" in page
    assert f"/images/{world.images[1].id}/display" not in page
    assert "cell MDI A-1-014" in page and "No attribution" in page
    assert act(client, session, td.id, "approve").status_code == 303
    td = fresh(session, td.id)
    assert td.state == "approved" and td.approver_id == world.sup1.id

    # a portal notice: made ready, not sent
    sign_in(client, world.analyst)
    page = client.get(f"/takedowns/{td.id}").text
    assert "Make notice #1 ready to submit" in page and "Send notice #1" not in page
    assert act(client, session, td.id, "send").status_code == 303
    td = fresh(session, td.id)
    assert (td.state, td.notices_sent, td.first_sent_at) == ("ready_to_submit", 0, None)
    assert session.get(type(world.account), world.account.id).status != \
        AccountStatus.takedown_requested.value
    notice = session.exec(select(Notice).where(Notice.takedown_id == td.id)).one()
    assert (notice.number, notice.channel, notice.delivery) == (1, "portal", "manual")
    assert (notice.body, notice.pack_sha256) == (preview.body, preview.pack_sha256)
    page = client.get(f"/takedowns/{td.id}").text
    assert "ready to submit" in page and "nothing has gone to Instagram yet" in page

    eml = client.get(f"/takedowns/{td.id}/notices/1.eml")
    assert eml.status_code == 200 and eml.headers["content-type"] == "message/rfc822"
    assert eml.headers["cache-control"] == "no-store"
    message = message_from_bytes(eml.content)
    assert message["Subject"].startswith(f"Takedown request TD-{td.id}")
    attachment = next(p for p in message.walk() if p.get_filename())
    manifest, _ = unzip(attachment.get_payload(decode=True))
    assert [i["sha256"] for i in manifest["images"]] == [world.images[0].sha256]

    early = act(client, session, td.id, "submitted", at="2026-01-01T09:00")
    assert early.status_code == 422 and "before notice #1 was made ready" in early.text
    assert fresh(session, td.id).state == "ready_to_submit"
    assert act(client, session, td.id, "submitted", reference="PORTAL-77").status_code == 303
    td = fresh(session, td.id)
    assert (td.state, td.notices_sent, td.platform_reference) == ("sent", 1, "PORTAL-77")
    assert td.first_sent_at and td.target_due_at and td.next_notice_due_at
    session.refresh(notice)
    assert (notice.submitted_by, notice.submission_reference) == (world.analyst.id, "PORTAL-77")
    assert session.get(type(world.account), world.account.id).status == \
        AccountStatus.takedown_requested.value
    page = client.get(f"/takedowns/{td.id}").text
    assert "submitted on the portal" in page and "(ref PORTAL-77)" in page
    submitted = audits(session, "takedown.submitted")
    assert len(submitted) == 1 and details(submitted[0])["to"] == "sent"
    shared = [details(e) for e in audits(session, "takedown.disclosure")]
    assert [d["via"] for d in shared] == ["eml download", "submitted on the portal"]
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
        ("approved", "ready_to_submit"), ("ready_to_submit", "sent"), ("sent", "acknowledged"),
        ("acknowledged", "removed")]
    for action in ("create", "submit", "approve", "send", "submitted", "acknowledge",
                   "removed"):
        assert len(audits(session, f"takedown.{action}")) == 1, action
    assert "acknowledged → removed" in client.get(f"/takedowns/{td.id}").text


def test_refusal_needs_a_reason_and_reopens_the_account(client, session, world):
    sign_in(client, world.analyst)
    _create(client, world)
    td = session.exec(select(Takedown)).one()
    sign_in(client, world.sup2)
    act(client, session, td.id, "approve")
    act(client, session, td.id, "send")
    act(client, session, td.id, "submitted")
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


def test_one_open_takedown_per_account(client, session, world):
    sign_in(client, world.analyst)
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
    act(client, session, td.id, "submitted")
    notice = session.exec(select(Notice)).one()
    pack = client.get(f"/takedowns/{td.id}/notices/1/pack")
    assert pack.status_code == 200 and pack.headers["content-type"] == "application/zip"
    assert pack.headers["cache-control"] == "no-store"
    import hashlib

    assert hashlib.sha256(pack.content).hexdigest() == notice.pack_sha256
    assert [details(e)["via"] for e in audits(session, "takedown.disclosure")] == \
        ["submitted on the portal", "pack download"]
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
