"""A withdrawn evidence image never leaves in a notice sent after its withdrawal: the packs
holding its picture are erased with it (key destroyed), a notice already due fails with the
reason instead of sending it, and every pack made from then on lists it as withdrawn, without
its picture. And of two supervisors withdrawing one image at
once (committed SQLite and PostgreSQL databases), exactly one does it."""

import base64
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlmodel import select

from app.audit.service import Actor
from app.db import unit_of_work
from app.errors import Conflict
from app.evidence import withdrawal as evidence_withdrawal
from app.evidence.images import ingest_image
from app.evidence.models import Image
from app.matching.withdrawal import withdraw
from app.takedowns import notices, outbox, packfiles, service
from app.takedowns.models import Notice
from tests.conftest import TEST_ACTOR
from tests.evidence import samples
from tests.takedowns.conftest import doer, set_platform
from tests.takedowns.helpers import audits, factory_of, fresh, sign_in, unzip
from tests.takedowns.test_delivery import approved, send


def _withdraw(session, settings, image):
    withdraw(session, settings, TEST_ACTOR, image=image, reason="Posted by the victim, not "
                                                                  "from the cell")
    session.commit()


def _pictures(data):
    manifest, names = unzip(data)
    return manifest, sorted(n for n in names if n.startswith("images/"))


def test_a_notice_due_before_the_withdrawal_is_not_sent_with_it(session, settings, world,
                                                                webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    sender = doer(world.analyst)
    done = service.transition(session, settings, sender, td.id, "send", version=td.version)
    assert done.notice.delivery == "pending"  # stored as due; the pack holds both pictures
    session.commit()
    due = session.get(Notice, done.notice.id)
    assert len(_pictures(packfiles.read(session, settings, due.pack_key))[1]) == 2
    gone = world.images[1]
    _withdraw(session, settings, gone)  # between the commit and the delivery

    result = outbox.deliver_now(factory_of(session), settings, sender.actor, done.notice.id)
    session.expire_all()
    assert webhook.received == []  # nothing left the service
    assert f"the evidence pack was erased with image {gone.id} (withdrawn: Posted by the " \
        "victim" in result.error
    failed = session.get(Notice, done.notice.id)
    assert failed.delivery == "failed" and "withdrawn" in failed.error
    assert fresh(session, td.id).state == "approved"  # it can be sent again

    again = send(session, settings, world, fresh(session, td.id))
    assert again.error == ""
    [(_, payload)] = webhook.received
    manifest, pictures = _pictures(base64.b64decode(payload["pack"]["content_base64"]))
    assert len(pictures) == 1 and gone.sha256[:12] not in pictures[0]
    entry = next(e for e in manifest["images"] if e["image_id"] == gone.id)
    assert (entry["erased"], entry["file"], entry["display_sha256"]) == (True, None, None)
    assert entry["captured_at"] is None  # its metadata went with it


def test_renotices_after_a_withdrawal_carry_a_new_pack_without_it(session, settings, world,
                                                                  webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    assert send(session, settings, world, td).error == ""
    first = session.exec(select(Notice)).one()
    td = fresh(session, td.id)
    account = world.account
    held = notices.held_notices(session, td.id)
    same = notices.pack_for(session, settings, td, account, first.sent_at, held)
    assert same.sha256 == first.pack_sha256  # before: re-notices attach notice #1's pack

    _withdraw(session, settings, world.images[0])
    renewed = notices.pack_for(session, settings, td, account, first.sent_at, held)
    assert renewed.sha256 != first.pack_sha256
    manifest, pictures = _pictures(renewed.data)
    assert len(pictures) == 1
    assert [e["erased"] for e in manifest["images"]] == [True, False]


def test_a_pack_holding_a_withdrawn_picture_is_no_longer_given_out(client, session, settings,
                                                                   world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    assert send(session, settings, world, td).error == ""
    sign_in(client, world.analyst)
    for url in (f"/takedowns/{td.id}/notices/1/pack", f"/takedowns/{td.id}/notices/1.eml"):
        assert client.get(url).status_code == 200
    before = len(audits(session, "takedown.disclosure"))
    _withdraw(session, settings, world.images[1])
    for url in (f"/takedowns/{td.id}/notices/1/pack", f"/takedowns/{td.id}/notices/1.eml"):
        refused = client.get(url)
        assert refused.status_code == 410
        assert f"pack was erased with image {world.images[1].id} (withdrawn: Posted" in \
            refused.text
    session.expire_all()
    assert len(audits(session, "takedown.disclosure")) == before  # nothing left the service
    assert session.exec(select(Notice)).one().pack_sha256  # the record of what was sent stays


def test_two_supervisors_withdraw_at_once_one_does_it(live, monkeypatch):
    with unit_of_work(live.factory) as s:
        image_id = ingest_image(s, live.settings, TEST_ACTOR, data=samples.jpeg(seed=9),
                                filename="a.jpg")[0].id
    barrier = Barrier(2, timeout=20)
    checked = evidence_withdrawal.check_reason

    def together(reason):  # both have read the image as held, then both go for the UPDATE
        barrier.wait()
        return checked(reason)

    monkeypatch.setattr(evidence_withdrawal, "check_reason", together)

    def attempt(name):
        try:
            with unit_of_work(live.factory) as s:
                withdraw(s, live.settings, Actor(user_id=None, name=name),
                         image=s.get(Image, image_id), reason=f"{name} withdraws it")
            return "withdrew"
        except Conflict as exc:
            return exc.message

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, ["sue", "sam"]))
    assert outcomes[1] == "withdrew" and "already withdrawn" in outcomes[0], outcomes
    with live.factory() as s:
        events = audits(s, "evidence.image.withdrawn")
        assert len(events) == 1 and events[0].purpose == f"{events[0].actor_name} withdraws it"
        assert s.get(Image, image_id).withdrawal_reason == events[0].purpose
