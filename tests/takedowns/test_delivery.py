"""Notice #1 through each channel: a real SMTP server, a real webhook receiver, a portal.

Sending stores notice #1 as due; it is delivered once that is committed (outbox.py), so `send`
below commits, then delivers as the request's background task does."""

import base64
import hashlib
from email import message_from_bytes, policy

from sqlmodel import select

from app.takedowns import outbox, packfiles, service
from app.takedowns.models import Notice
from tests.takedowns.conftest import doer, set_platform
from tests.takedowns.helpers import (
    api_draft,
    audits,
    complete_draft,
    details,
    factory_of,
    fresh,
    unzip,
)


def approved(session, settings, world):
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([e.id for e in world.evidence],
                                                "Threats to a victim posted from a cell."))
    service.transition(session, settings, doer(world.analyst), td.id, "submit",
                       version=td.version)
    service.transition(session, settings, doer(world.sup1), td.id, "approve",
                       version=td.version)
    return td


def send(session, settings, world, td):
    sender = doer(world.analyst)
    done = service.transition(session, settings, sender, td.id, "send", version=td.version)
    if not done.due:
        return done
    assert done.notice.delivery == "pending"
    session.commit()  # the request's unit of work; delivery comes after it
    delivered = outbox.deliver_now(factory_of(session), settings, sender.actor, done.notice.id)
    session.expire_all()  # recorded by another session
    return delivered


def assert_pack(data, world, sha256):
    assert hashlib.sha256(data).hexdigest() == sha256
    manifest, names = unzip(data)
    assert [i["sha256"] for i in manifest["images"]] == [i.sha256 for i in world.images]
    assert [i["post_url"] for i in manifest["images"]] == [e.post_url for e in world.evidence]
    assert manifest["images"][0]["posted_at"].startswith("2026-11-01T21:00")
    assert manifest["images"][0]["captured_at"].startswith("2025-06-01T20:15:30")
    assert manifest["images"][1]["captured_at"] is None
    assert manifest["account"] == {"platform": "instagram", "handle": "wing_a_boss",
                                   "url": "https://www.instagram.com/wing_a_boss/",
                                   "numeric_id": None}
    assert manifest["legal_basis"].startswith("Prison Act 1952")
    assert all(i["submitted_at"] for i in manifest["images"])
    images = [n for n in names if n.startswith("images/")]
    assert len(images) == 2 and sorted(names) == sorted(images + ["manifest.json"])
    # the cell photo that one evidence image matched never leaves
    assert world.reference.sha256 not in data.decode("latin-1")
    assert all(world.reference.sha256[:12] not in n for n in names)
    actions = {c["action"] for c in manifest["chain_of_custody"]}
    # the pack is made when notice #1 is previewed: what the approver saw is what goes
    assert {"evidence.image.stored", "takedown.create"} <= actions
    assert "takedown.approve" not in actions
    assert not any(a.startswith(("match.", "library.", "attribution.")) for a in actions)
    return manifest


def test_email_through_a_real_smtp_server(session, settings, world, mailbox):
    set_platform(session, "email", "abuse@instagram.example")
    td = approved(session, settings, world)
    done = send(session, settings, world, td)
    assert done.error == "" and fresh(session, td.id).state == "sent"
    assert len(mailbox) == 1
    sender, rcpts, raw = mailbox[0]
    assert (sender, rcpts) == ("unit@cellwatch.test", ["abuse@instagram.example"])
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == f"Takedown request TD-{td.id}: Instagram account wing_a_boss"
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert "wing_a_boss" in body.get_content() and "Post1" in body.get_content()
    attachment = next(p for p in message.walk() if p.get_filename())
    assert attachment.get_filename() == f"TD-{td.id}-evidence.zip"
    notice = session.exec(select(Notice)).one()
    assert_pack(attachment.get_payload(decode=True), world, notice.pack_sha256)
    assert (notice.delivery, notice.recipient) == ("delivered", "abuse@instagram.example")
    # stored sealed under data_dir, and it opens to the same bytes
    stored = packfiles.path_for(settings, notice.pack_key)
    assert stored.is_file() and b"manifest.json" not in stored.read_bytes()
    assert hashlib.sha256(packfiles.read(session, settings, notice.pack_key)).hexdigest() == \
        notice.pack_sha256
    disclosure = details(audits(session, "takedown.disclosure")[0])
    assert disclosure["recipient"] == "abuse@instagram.example"
    assert disclosure["delivery"] == "delivered"


def test_webhook_to_a_real_local_server(session, settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok/instagram")
    td = approved(session, settings, world)
    assert send(session, settings, world, td).error == ""
    [(path, payload)] = webhook.received
    assert path == "/ok/instagram"
    assert (payload["reference"], payload["notice_number"]) == (f"TD-{td.id}", 1)
    data = base64.b64decode(payload["pack"]["content_base64"])
    assert_pack(data, world, payload["pack"]["sha256"])
    assert session.exec(select(Notice)).one().delivery == "delivered"


def test_a_failed_first_delivery_keeps_it_approved_then_retries_the_same_number(
        session, settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/fail")
    td = approved(session, settings, world)
    done = send(session, settings, world, td)
    assert "HTTP 500" in done.error and "stays approved" in done.error
    td = fresh(session, td.id)
    assert (td.state, td.notices_sent) == ("approved", 0)
    failed = session.exec(select(Notice)).one()
    assert (failed.number, failed.delivery) == (1, "failed") and "500" in failed.error
    assert audits(session, "takedown.disclosure")[0].outcome == "failure"
    assert audits(session, "takedown.send") == []

    set_platform(session, "webhook", f"{webhook.url}/ok")
    assert send(session, settings, world, td).error == ""
    notice = session.exec(select(Notice)).one()  # the same row: notice #1, now delivered
    assert (notice.number, notice.delivery, notice.error) == (1, "delivered", "")
    assert fresh(session, td.id).state == "sent"


def test_email_without_a_server_fails_clearly(session, world, settings, tmp_path):
    from app.settings import Settings

    bare = Settings(data_dir=settings.data_dir, database_url=settings.database_url)
    set_platform(session, "email", "abuse@instagram.example")
    td = approved(session, bare, world)
    done = send(session, bare, world, td)
    assert "No SMTP server is configured" in done.error


def test_api_accepts_a_send_and_then_shows_the_failed_delivery(client, session, world,
                                                                  webhook):
    from tests.conftest import page_csrf
    from tests.takedowns.helpers import sign_in

    set_platform(session, "webhook", f"{webhook.url}/fail")
    session.commit()
    sign_in(client, world.analyst)
    headers = {"X-CSRF-Token": page_csrf(client)}
    made = client.post("/api/v1/takedowns", headers=headers,
                       json={"account_id": world.account.id, **api_draft(world)})
    td = made.json()["id"]
    client.post(f"/api/v1/takedowns/{td}/transitions", headers=headers,
                json={"action": "submit", "version": 1})
    sign_in(client, world.sup1)
    headers = {"X-CSRF-Token": page_csrf(client)}
    client.post(f"/api/v1/takedowns/{td}/transitions", headers=headers,
                json={"action": "approve", "version": 2})
    r = client.post(f"/api/v1/takedowns/{td}/transitions", headers=headers,
                    json={"action": "send", "version": 3})
    # the answer goes before the delivery (which follows the commit): accepted, not done
    assert r.status_code == 202
    assert r.json()["state"] == "approved" and r.json()["notice"]["delivery"] == "pending"
    after = client.get(f"/api/v1/takedowns/{td}").json()
    assert after["state"] == "approved" and after["notices"][0]["delivery"] == "failed"
    assert "HTTP 500" in after["notices"][0]["error"]


def test_a_template_that_fails_on_real_data_refuses_the_draft(session, settings, world):
    import pytest

    from app.errors import Unprocessable
    from app.takedowns.models import PlatformSettings, Takedown

    bad = '{% if account.handle == "wing_a_boss" %}{{ 1 / 0 }}{% endif %}Remove it'
    session.merge(PlatformSettings(platform="instagram", channel="portal", address="",
                                   template=bad))
    with pytest.raises(Unprocessable, match="The notice template failed"):
        approved(session, settings, world)
    session.rollback()
    assert session.exec(select(Takedown)).all() == []


def test_what_was_approved_goes_even_if_the_template_changes_after(session, settings, world,
                                                                   webhook):
    from app.takedowns.models import NoticePreview, PlatformSettings

    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, settings, world)
    preview = session.get(NoticePreview, td.id)
    session.merge(PlatformSettings(platform="instagram", channel="webhook",
                                   address=f"{webhook.url}/ok", template="Changed {{ reference }}"))
    assert send(session, settings, world, td).error == ""
    [(_, payload)] = webhook.received
    assert payload["body"] == preview.body and "Changed" not in payload["body"]
    assert payload["pack"]["sha256"] == preview.pack_sha256
