"""Deliveries follow the commit that records them as due: a failed commit sends nothing, the
page still shows the outcome, and an attempt that died before recording its outcome is sent
again once, with the same Message-ID / Idempotency-Key, and flagged."""

from datetime import timedelta
from email import message_from_bytes

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.db import unit_of_work, utcnow
from app.errors import Conflict
from app.takedowns import jobs, outbox, packfiles, renotices, service
from app.takedowns.models import Notice, Takedown
from app.takedowns.presenters import notice_public
from tests.conftest import csrf_from
from tests.takedowns.conftest import doer, seed_people, set_platform
from tests.takedowns.helpers import act, audits, details, draft_for, factory_of, fresh, sign_in
from tests.takedowns.test_delivery import approved
from tests.takedowns.test_jobs import numbers, sent_takedowns


class CommitFails(Session):
    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))


def test_a_failed_commit_sends_nothing(client, connection, session, settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    session.commit()
    sign_in(client, world.analyst)
    token = csrf_from(client.get(f"/takedowns/{td.id}").text)
    working = client.app.state.session_factory
    client.app.state.session_factory = lambda: CommitFails(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        r = client.post(f"/takedowns/{td.id}/transition", follow_redirects=False, data={
            "action": "send", "version": str(td.version), "csrf_token": token})
    finally:
        client.app.state.session_factory = working
    assert r.status_code == 500 and "nothing was changed" in r.text
    assert webhook.received == []  # the delivery was never started
    assert (fresh(session, td.id).state, fresh(session, td.id).version) == ("approved", 3)
    assert session.exec(select(Notice)).all() == []
    assert outbox.leftovers(session, utcnow(), 10) == []  # nothing due for a job either
    # notice #1 carries the previewed pack: no other pack was left behind
    from app.takedowns.models import NoticePreview

    preview = session.get(NoticePreview, td.id)
    assert list((settings.data_dir / "packs").rglob("*.pack")) == [
        packfiles.path_for(settings, preview.pack_key)]


def test_the_page_shows_the_outcome_of_the_delivery_after_the_commit(client, session,
                                                                      settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    session.commit()
    sign_in(client, world.analyst)
    r = act(client, session, td.id, "send")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert f"Notice #1 of TD-{td.id} is on its way by webhook" in page
    assert f"TD-{td.id} is now sent." in page  # flashed by the delivery that followed
    assert len(webhook.received) == 1 and webhook.keys == [f"TD-{td.id}-1"]
    assert fresh(session, td.id).state == "sent"
    assert session.exec(select(Notice)).one().delivery == "delivered"


def test_other_moves_wait_for_notice_1(session, settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    done = service.transition(session, settings, doer(world.analyst), td.id, "send",
                              version=td.version)
    assert done.due and done.notice.delivery == "pending" and webhook.received == []
    with pytest.raises(Conflict, match="on its way"):
        service.transition(session, settings, doer(world.analyst), td.id, "withdraw",
                           version=fresh(session, td.id).version, note="changed my mind")
    with pytest.raises(Conflict, match="already on its way"):
        service.transition(session, settings, doer(world.analyst), td.id, "send",
                           version=fresh(session, td.id).version)
    session.commit()
    outbox.deliver_now(factory_of(session), settings, doer(world.analyst).actor,
                       done.notice.id)
    assert fresh(session, td.id).state == "sent"


def test_a_notice_left_sending_is_resent_once_with_the_same_message_id(live, mailbox):
    people = seed_people(live)
    with live.factory() as session:
        set_platform(session, "email", "abuse@instagram.example")
        td = service.create_takedown(session, live.settings, doer(people.analyst),
                                     people.account.id,
                                     draft_for(session, live.settings, people.account.id))
        for who, action in ((people.analyst, "submit"), (people.sup1, "approve"),
                            (people.analyst, "send")):
            done = service.transition(session, live.settings, doer(who), td.id, action,
                                      version=td.version)
        session.commit()
        td_id, notice_id = td.id, done.notice.id
    t0 = utcnow()
    # an attempt claims it, reaches the platform, and dies before recording the outcome
    with unit_of_work(live.factory) as session:
        attempt = outbox.claim(session, live.settings, session.get(Notice, notice_id), t0)
    assert outbox.deliver(live.settings, attempt).delivery == "delivered"
    assert len(mailbox) == 1

    soon = jobs.run(live.engine, live.settings, now=t0 + timedelta(minutes=5))
    assert (soon.left_over, len(mailbox)) == (0, 1)  # it may still be on its way
    late = jobs.run(live.engine, live.settings,
                    now=t0 + outbox.INTERRUPTED_AFTER + timedelta(minutes=1))
    assert (late.left_over, late.resent, late.delivered) == (1, 1, 1)
    assert "re-sent after an interruption 1" in late.summary()
    assert len(mailbox) == 2
    assert {message_from_bytes(raw)["Message-ID"] for _, _, raw in mailbox} == {
        f"<takedown-{td_id}-notice-1@cellwatch>"}
    with live.factory() as session:
        notice = session.get(Notice, notice_id)
        assert (notice.delivery, notice.attempts, notice.resent) == ("delivered", 2, True)
        assert notice_public(notice)["resent_note"] == outbox.RESENT_NOTE
        assert session.get(Takedown, td_id).state == "sent"
        [flag] = audits(session, "takedown.notice_resent")
        assert details(flag)["note"] == outbox.RESENT_NOTE and details(flag)["notice"] == 1
        assert details(audits(session, "takedown.disclosure")[-1])["via"] == \
            "re-sent after an interruption"
    again = jobs.run(live.engine, live.settings, now=t0 + timedelta(minutes=40))
    assert (again.left_over, len(mailbox)) == (0, 2)  # once only


def test_an_interrupted_renotice_is_resent_with_the_same_idempotency_key(live, webhook,
                                                                         monkeypatch):
    (a,), t0, _ = sent_takedowns(live, 1, f"{webhook.url}/ok")
    due = t0 + timedelta(hours=25)

    def killed(*args, **kwargs):
        raise RuntimeError("the runner died after the delivery")

    monkeypatch.setattr(renotices, "record_group", killed)
    with pytest.raises(RuntimeError):
        jobs.run(live.engine, live.settings, now=due)
    monkeypatch.undo()
    assert numbers(live, a) == [(1, "delivered"), (2, "sending")]  # the crash shows
    assert jobs.run(live.engine, live.settings, now=due + timedelta(minutes=5)).left_over == 0
    later = jobs.run(live.engine, live.settings,
                     now=due + outbox.INTERRUPTED_AFTER + timedelta(minutes=1))
    assert (later.left_over, later.resent, later.delivered) == (1, 1, 1)
    assert numbers(live, a) == [(1, "delivered"), (2, "delivered")]
    assert webhook.keys == [f"TD-{a}-1", f"TD-{a}-2", f"TD-{a}-2"]
    with live.factory() as session:
        assert session.get(Takedown, a).notices_sent == 2
        assert session.exec(select(Notice).where(Notice.number == 2)).one().resent
    assert jobs.run(live.engine, live.settings, now=due + timedelta(hours=1)).delivered == 0
