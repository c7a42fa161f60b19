"""Portal notices are "ready to submit" until a person records filing them: notice #1 through
the takedown's own move, re-notices one by one."""

from datetime import timedelta

from sqlmodel import select

from app.db import utcnow
from app.takedowns import service
from app.takedowns.models import Notice
from tests.conftest import csrf_from
from tests.takedowns.conftest import doer, set_platform
from tests.takedowns.helpers import audits, complete_draft, details, fresh, sign_in


def _submitted_portal_takedown(session, settings, world):
    set_platform(session, "portal", "https://portal.example/report")
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([e.id for e in world.evidence]))
    for who, action in ((world.analyst, "submit"), (world.sup1, "approve"),
                        (world.analyst, "send")):
        service.transition(session, settings, doer(who), td.id, action, version=td.version)
    assert td.state == "ready_to_submit"
    service.transition(session, settings, doer(world.analyst), td.id, "submitted",
                       version=td.version, reference="P-1")
    assert td.state == "sent"
    first = session.exec(select(Notice)).one()
    # a re-notice the job made for the portal: ready for a person to file
    again = Notice(takedown_id=td.id, number=2, channel="portal", recipient=first.recipient,
                   subject=first.subject, body=first.body, pack_key=first.pack_key,
                   pack_sha256=first.pack_sha256, delivery="manual", sent_at=utcnow())
    session.add(again)
    session.commit()
    return td, again


def test_a_portal_re_notice_is_recorded_as_submitted(client, session, settings, world):
    td, again = _submitted_portal_takedown(session, settings, world)
    sign_in(client, world.analyst)
    page = client.get(f"/takedowns/{td.id}").text
    assert f'action="/takedowns/{td.id}/notices/2/submitted"' in page
    assert "(ref P-1)" in page  # notice #1 shows who filed it
    token = csrf_from(page)

    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/takedowns/{td.id}/notices/2/submitted",
                    data={"csrf_token": token, "at": future}, follow_redirects=False)
    assert r.status_code == 422 and "between when notice #2 was made and now" in r.text
    session.expire_all()
    assert session.get(Notice, again.id).submitted_at is None

    r = client.post(f"/takedowns/{td.id}/notices/2/submitted",
                    data={"csrf_token": token, "reference": "P-2"}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    notice = session.get(Notice, again.id)
    assert (notice.submitted_by, notice.submission_reference) == (world.analyst.id, "P-2")
    event = details(audits(session, "takedown.notice_submitted")[0])
    assert (event["notice"], event["reference"]) == (2, "P-2")
    assert details(audits(session, "takedown.disclosure")[-1])["via"] == \
        "submitted on the portal"
    twice = client.post(f"/takedowns/{td.id}/notices/2/submitted",
                        data={"csrf_token": token}, follow_redirects=False)
    assert twice.status_code == 409 and "already recorded" in twice.text
    assert "(ref P-2)" in client.get(f"/takedowns/{td.id}").text


def test_only_senders_record_and_only_portal_notices(client, session, settings, world,
                                                     make_user):
    td, again = _submitted_portal_takedown(session, settings, world)
    auditor = make_user("auditor")
    sign_in(client, auditor)
    token = csrf_from(client.get("/account/password").text)
    r = client.post(f"/takedowns/{td.id}/notices/2/submitted", data={"csrf_token": token})
    assert r.status_code == 403
    sign_in(client, world.analyst)
    token = csrf_from(client.get(f"/takedowns/{td.id}").text)
    first = client.post(f"/takedowns/{td.id}/notices/1/submitted", data={"csrf_token": token})
    assert first.status_code == 409
    missing = client.post(f"/takedowns/{td.id}/notices/9/submitted", data={"csrf_token": token})
    assert missing.status_code == 404
    again.delivery = "delivered"
    session.add(again)
    session.commit()
    by_email = client.post(f"/takedowns/{td.id}/notices/2/submitted",
                           data={"csrf_token": token})
    assert by_email.status_code == 409 and "nothing to file" in by_email.text
    assert fresh(session, td.id).state == "sent"


def test_no_re_notice_is_made_while_the_last_portal_notice_is_unfiled(session, settings, world):
    from app.accounts.models import Account
    from app.takedowns import channels, renotices
    from app.takedowns.jobs import JOBS_ACTOR
    from app.takedowns.models import Takedown

    td, again = _submitted_portal_takedown(session, settings, world)  # #2 not filed yet
    takedown = session.get(Takedown, td.id)
    claimed = renotices.Claimed(takedown, session.get(Account, world.account.id),
                                channels.get_platform(session, "instagram"),
                                list(session.exec(select(Notice).order_by(Notice.number))))
    prepared = renotices.prepare_batch(session, settings, JOBS_ACTOR, [claimed], utcnow())
    assert (prepared.unfiled, prepared.ready) == (1, [])
    assert [n.number for n in session.exec(select(Notice))] == [1, 2]

    again.submitted_at, again.submitted_by = utcnow(), world.analyst.id  # filed: the next goes
    session.add(again)
    takedown.notices_sent = 2
    session.flush()
    claimed.held = list(session.exec(select(Notice).order_by(Notice.number)))
    prepared = renotices.prepare_batch(session, settings, JOBS_ACTOR, [claimed], utcnow())
    assert prepared.unfiled == 0 and [a.number for _, a in prepared.ready] == [3]
