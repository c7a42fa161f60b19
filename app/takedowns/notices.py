"""One notice of a takedown: render the platform's text, attach the pack, store it as due.

The caller has already claimed the takedown (compare-and-set on its version), so no other
request or job runner is making the same notice number. Nothing here delivers: the row is
stored as due (or already being sent) and outbox.py delivers it after the commit. A failed
delivery is kept on the row (delivery=failed, error); making that number again later updates
the same row, so the numbers a platform sees never skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import display_name_of, profile_url_of
from app.audit.service import Actor, record
from app.errors import Conflict
from app.evidence.videos import clock
from app.settings import Settings
from app.takedowns import delivery, notice_text, packfiles, packs
from app.takedowns.models import Notice, NoticePreview, PlatformSettings, Takedown


@dataclass(frozen=True)
class StoredPack:
    key: str
    sha256: str
    data: bytes
    manifest: dict[str, Any]


def utc_text(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%Y-%m-%d %H:%M UTC")


def held_notices(session: Session, takedown_id: int) -> list[Notice]:
    return list(session.exec(select(Notice).where(Notice.takedown_id == takedown_id)
                             .order_by(col(Notice.number))).all())


def pack_for(session: Session, settings: Settings, takedown: Takedown, account: Account,
             now: datetime, held: list[Notice]) -> StoredPack:
    """Notice #1 makes the pack; re-notices attach the same one (same sha256 for the platform),
    unless an image in it was withdrawn or erased since (which erased the pack too): then a
    new pack is made without it."""
    first = next((n for n in reversed(held) if n.pack_key), None)  # the latest pack made
    if first is not None:
        try:
            data = packfiles.read(session, settings, first.pack_key)
            manifest = packs.manifest_of(data)
            if not packs.withdrawn_in(session, manifest):
                return StoredPack(first.pack_key, first.pack_sha256, data, manifest)
        except packfiles.PackMissing:
            pass  # rebuilt below from what is held now, under a new key and sha256
    pack = packs.build_pack(session, settings, takedown, account, now)
    return StoredPack(packfiles.store(session, settings, pack.data, packs.held_in(pack.manifest)),
                      pack.sha256, pack.data, pack.manifest)


def first_notice(session: Session, settings: Settings,
                 takedown: Takedown) -> tuple[StoredPack, str, str] | None:
    """Notice #1 exactly as previewed and approved: (pack, body, subject). None without a
    preview, or when an image in its pack was withdrawn since (a new pack and text are made
    without it, as for any notice)."""
    preview = session.get(NoticePreview, takedown.id)
    if preview is None:
        return None
    try:
        data = packfiles.read(session, settings, preview.pack_key)
    except packfiles.PackMissing:
        return None
    manifest = packs.manifest_of(data)
    if packs.withdrawn_in(session, manifest):
        return None
    return (StoredPack(preview.pack_key, preview.pack_sha256, data, manifest), preview.body,
            preview.subject)


def cited_videos_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The videos a notice names (V1, V2...): each the manifest lists, cited or the source of a
    chosen frame, by its original's sha256 and its post. A pack from before videos has none;
    one from before videos could be cited names no post (a notice sent again re-reads it)."""
    return [{"number": f"V{n}", "video_id": v["video_id"], "sha256": v["sha256"] or "",
             "post_url": v.get("post_url") or "", "posted_at": utc_text(v.get("posted_at")),
             "length": clock(v["seconds"]), "cited": v.get("cited", False)}
            for n, v in enumerate(manifest.get("videos", []), start=1) if not v["erased"]]


def context(takedown: Takedown, account: Account, pack: StoredPack,
            number: int) -> dict[str, Any]:
    manifest = pack.manifest
    url = manifest["account"].get("url") or profile_url_of(account.platform, account.handle)
    videos = cited_videos_of(manifest)
    number_of = {v["video_id"]: v["number"] for v in videos}
    evidence = [{"number": e["number"], "sha256": e["sha256"], "post_url": e["post_url"] or "",
                 "posted_at": utc_text(e["posted_at"]), "captured_at": utc_text(e["captured_at"]),
                 "frame_of": ({"video": number_of[e["video_id"]], "at": clock(e.get("t"))}
                              if e.get("video_id") in number_of else None)}
                for e in manifest["images"]]
    posts = [e["post_url"] for e in evidence if e["post_url"]]
    posts += [v["post_url"] for v in videos if v["post_url"]]
    platform_name = display_name_of(account.platform)
    return {
        "reference": packs.reference(takedown), "notice_number": number,
        "first_sent_at": utc_text(takedown.first_sent_at),
        "platform_reference": takedown.platform_reference,
        "account": {"platform": account.platform, "platform_name": platform_name,
                    "handle": account.handle, "url": url,
                    "numeric_id": takedown.platform_account_id},
        "urls": list(dict.fromkeys([u for u in [url, *posts] if u])),
        "reason": takedown.reason, "evidence": evidence, "videos": videos,
        "legal_basis": takedown.legal_basis, "contact": takedown.contact,
        "good_faith_statement": notice_text.GOOD_FAITH_STATEMENT if takedown.good_faith else "",
        "pack": {"filename": f"{packs.reference(takedown)}-evidence.zip", "sha256": pack.sha256},
    }


def _row(held: list[Notice], takedown_id: int, number: int) -> Notice:
    existing = next((n for n in held if n.number == number), None)
    if existing is None:
        return Notice(takedown_id=takedown_id, number=number, channel="", recipient="")
    if existing.delivery == delivery.FAILED:
        return existing  # a retry of the same number
    if existing.delivery in delivery.IN_FLIGHT:
        raise Conflict(f"Notice #{number} of TD-{takedown_id} is already on its way to the "
                       "platform; its outcome shows once the platform answers.")
    raise Conflict(f"Notice #{number} of TD-{takedown_id} was already sent.")


def in_flight(session: Session, takedown_id: int) -> Notice | None:
    """A notice of this takedown that is due or being sent (its outcome not known yet)."""
    return session.exec(select(Notice).where(
        Notice.takedown_id == takedown_id,
        col(Notice.delivery).in_(delivery.IN_FLIGHT))).first()


@dataclass(frozen=True)
class Prepared:
    out: delivery.Outgoing
    pack: StoredPack
    held: list[Notice]


def prepare(session: Session, settings: Settings, takedown: Takedown, account: Account,
            platform: PlatformSettings, now: datetime,
            held: list[Notice] | None = None) -> Prepared:
    """Notice number notices_sent + 1, ready to deliver (422 if the template fails)."""
    number = takedown.notices_sent + 1
    held = held_notices(session, takedown.id or 0) if held is None else held
    ref = packs.reference(takedown)
    approved = first_notice(session, settings, takedown) if number == 1 else None
    if approved is not None:
        pack, body, subject = approved
    else:
        pack = pack_for(session, settings, takedown, account, now, held)
        body = notice_text.render(platform.template, context(takedown, account, pack, number))
        subject = notice_text.subject(ref, display_name_of(account.platform), account.handle,
                                      number, takedown.platform_reference)
    out = delivery.Outgoing(
        takedown_id=takedown.id or 0, reference=ref, number=number, channel=platform.channel,
        recipient=platform.address, subject=subject, body=body,
        pack_filename=f"{ref}-evidence.zip", pack=pack.data, pack_sha256=pack.sha256,
        platform=account.platform, handle=account.handle, sent_at=now)
    return Prepared(out, pack, held)


def outgoing_of(session: Session, settings: Settings, takedown: Takedown, account: Account,
                notice: Notice) -> delivery.Outgoing:
    """A stored notice as it goes out: the same text, pack and identifiers every time (an .eml
    download, or a delivery retried). Raises PackMissing when the pack cannot be opened."""
    ref = packs.reference(takedown)
    return delivery.Outgoing(
        takedown_id=takedown.id or 0, reference=ref, number=notice.number,
        channel=notice.channel, recipient=notice.recipient, subject=notice.subject,
        body=notice.body, pack_filename=f"{ref}-evidence.zip",
        pack=packfiles.read(session, settings, notice.pack_key), pack_sha256=notice.pack_sha256,
        platform=takedown.platform, handle=account.handle, sent_at=notice.sent_at)


def notice_row(actor: Actor, takedown: Takedown, prepared: Prepared, state: str,
               now: datetime) -> Notice:
    """The notice row to save as due (pending) or already claimed (sending): new, or the failed
    one of the same number (a retry). The caller adds and flushes it."""
    out = prepared.out
    notice = _row(prepared.held, takedown.id or 0, out.number)
    notice.channel, notice.recipient = out.channel, out.recipient
    notice.subject, notice.body = out.subject, out.body
    notice.pack_key, notice.pack_sha256 = prepared.pack.key, prepared.pack.sha256
    notice.delivery, notice.error = state, ""
    notice.sent_by, notice.sent_at = actor.user_id, out.sent_at
    if state == delivery.SENDING:
        notice.attempts, notice.attempt_started_at = (notice.attempts or 0) + 1, now
    return notice


def disclosed(takedown: Takedown, notice: Notice) -> dict[str, Any]:
    """What the audit log keeps of one sending: where it went and what went."""
    return {"takedown": packs.reference(takedown), "account_id": takedown.account_id,
            "notice": notice.number, "recipient": notice.recipient or "(no address)",
            "channel": notice.channel, "delivery": notice.delivery,
            "pack_sha256": notice.pack_sha256, "error": notice.error}


def via_of(outcome: delivery.Outcome, *, resent: bool = False) -> str:
    """How a delivery outcome let evidence out, in the audit log's words: a portal's notice
    is not sent by the service, it waits for a person to file it."""
    if outcome.delivery == delivery.MANUAL:
        return "made ready to submit on the portal"
    return "re-sent after an interruption" if resent else "sent"


def disclosure(session: Session, actor: Actor, takedown: Takedown, notice: Notice, *, via: str,
               outcome: delivery.Outcome | None = None) -> None:
    """Evidence leaving the service (a sending, or a download of what is sent) is audited."""
    failed = outcome is not None and outcome.delivery == delivery.FAILED
    record(session, actor, "takedown.disclosure", object_type="takedown",
           object_ids=[takedown.id or 0], outcome="failure" if failed else "success",
           purpose=f"takedown request {packs.reference(takedown)} to {takedown.platform}",
           details={**disclosed(takedown, notice), "via": via})


def record_failure(session: Session, actor: Actor, takedown: Takedown,
                   platform: PlatformSettings, error: str, now: datetime,
                   held: list[Notice] | None = None) -> Notice:
    """A notice that could not even be prepared (e.g. its template fails): kept as failed."""
    number = takedown.notices_sent + 1
    held = held_notices(session, takedown.id or 0) if held is None else held
    notice = _row(held, takedown.id or 0, number)
    notice.channel, notice.recipient = platform.channel, platform.address
    notice.delivery, notice.error = delivery.FAILED, error[:1000]
    notice.sent_by, notice.sent_at = actor.user_id, now
    session.add(notice)
    session.flush()
    record(session, actor, "takedown.notice_failed", object_type="takedown",
           object_ids=[takedown.id or 0], outcome="failure",
           details={"notice": number, "error": error[:500]})
    return notice
