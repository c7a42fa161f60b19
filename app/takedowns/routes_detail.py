"""One takedown: its page (timeline, notices, the buttons the machine allows), moves, downloads.

Downloads of a notice (.eml) or its evidence pack are disclosures: evidence leaves the
service. Each is audited as `takedown.disclosure` and served with no-store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from app.accounts.service import get_account
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.permissions import Permission as P
from app.db import SessionDep, utcnow
from app.errors import AppError, NotFound
from app.settings import Settings
from app.takedowns import delivery, machine, notices, packfiles, packs, queries, service
from app.takedowns.forms import Drafter, Reader, Sender, doer, flash, parse_local, time_helpers
from app.takedowns.machine import State
from app.takedowns.models import Notice, Takedown
from app.takedowns.platforms import CHANNELS, get_platform
from app.web import render

router = APIRouter()
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def page(request: Request, db: Session, settings: Settings, who: Principal, takedown: Takedown,
         *, error: str = "", status: int = 200) -> Response:
    now = utcnow()
    context = queries.detail(db, takedown, now)
    buttons = machine.available(State(takedown.state), who.permissions,
                                actor_id=who.user.id or 0, author_id=takedown.author_id)
    platform = get_platform(db, takedown.platform)
    return render(request, "takedowns/takedown.html", {
        **context, **time_helpers(settings.local_timezone, now), "buttons": buttons,
        "platform": platform, "channel_label": CHANNELS.get(platform.channel, platform.channel),
        "can_download": who.can(P.takedowns_send), "error": error,
        "is_author_waiting": takedown.state == State.awaiting_approval
        and takedown.author_id == who.user.id and who.can(P.takedowns_approve),
        "me": who.user.id, "can_release": takedown.claimed_by is not None and (
            takedown.claimed_by == who.user.id or who.can(P.takedowns_approve)),
        "local_zone": settings.local_timezone,
    }, status_code=status)


@router.get("/takedowns/{takedown_id:int}")
def takedown_page(request: Request, takedown_id: int, db: SessionDep, settings: SettingsDep,
                  who: Reader) -> Response:
    takedown = service.get_takedown(db, takedown_id)
    record(db, who.actor, "takedown.view", object_type="takedown", object_ids=[takedown_id],
           details={"account_id": takedown.account_id})
    db.commit()
    return page(request, db, settings, who, takedown)


@router.post("/takedowns/{takedown_id:int}/transition")
def transition(request: Request, takedown_id: int, db: SessionDep, settings: SettingsDep,
               who: Drafter, action: Annotated[str, Form(max_length=24)],
               version: Annotated[int, Form()],
               note: Annotated[str, Form(max_length=2000)] = "",
               reference: Annotated[str, Form(max_length=128)] = "",
               at: Annotated[str, Form(max_length=40)] = "") -> Response:
    try:
        done = service.transition(db, settings, doer(who), takedown_id, action,
                                  version=version, note=note, reference=reference,
                                  at=parse_local(at, settings.local_timezone))
    except NotFound:
        raise
    except AppError as exc:  # nothing was changed: show the page as it is now, and why
        db.rollback()
        return page(request, db, settings, who, service.get_takedown(db, takedown_id),
                    error=exc.message, status=exc.status_code)
    if done.error:
        flash(db, who, done.error, "error")
    else:
        flash(db, who, f"TD-{takedown_id} is now {done.takedown.state.replace('_', ' ')}.")
    db.commit()
    return RedirectResponse(f"/takedowns/{takedown_id}", status_code=303)


def _notice(db: Session, takedown_id: int, number: int) -> tuple[Takedown, Notice]:
    takedown = service.get_takedown(db, takedown_id)
    notice = db.exec(select(Notice).where(Notice.takedown_id == takedown_id,
                                          Notice.number == number)).first()
    if notice is None or not notice.pack_key:
        raise NotFound(f"TD-{takedown_id} has no notice #{number} to download.")
    return takedown, notice


def _pack(settings: Settings, notice: Notice) -> bytes:
    try:
        return packfiles.read(settings, notice.pack_key)
    except packfiles.PackMissing:
        raise NotFound("The evidence pack of this notice is missing from storage; this has "
                       "been logged, tell the system administrator.") from None


def eml_bytes(db: Session, settings: Settings, takedown: Takedown, notice: Notice) -> bytes:
    account = get_account(db, takedown.account_id)
    out = delivery.Outgoing(
        takedown_id=takedown.id or 0, reference=packs.reference(takedown), number=notice.number,
        channel=notice.channel, recipient=notice.recipient, subject=notice.subject,
        body=notice.body, pack_filename=f"{packs.reference(takedown)}-evidence.zip",
        pack=_pack(settings, notice), pack_sha256=notice.pack_sha256,
        platform=takedown.platform, handle=account.handle, sent_at=notice.sent_at)
    return delivery.email_message(settings, out).as_bytes()


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        **DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/takedowns/{takedown_id:int}/notices/{number:int}.eml")
def download_eml(takedown_id: int, number: int, db: SessionDep, settings: SettingsDep,
                 who: Sender) -> Response:
    takedown, notice = _notice(db, takedown_id, number)
    data = eml_bytes(db, settings, takedown, notice)
    notices.disclosure(db, who.actor, takedown, notice, via="eml download")
    db.commit()
    return _download(data, "message/rfc822", f"TD-{takedown_id}-notice-{number}.eml")


@router.get("/takedowns/{takedown_id:int}/notices/{number:int}/pack")
def download_pack(takedown_id: int, number: int, db: SessionDep, settings: SettingsDep,
                  who: Sender) -> Response:
    takedown, notice = _notice(db, takedown_id, number)
    data = _pack(settings, notice)
    notices.disclosure(db, who.actor, takedown, notice, via="pack download")
    db.commit()
    return _download(data, "application/zip", f"TD-{takedown_id}-evidence.zip")


def notice_public(notice: Notice) -> dict[str, Any]:
    return {"number": notice.number, "channel": notice.channel, "recipient": notice.recipient,
            "subject": notice.subject, "delivery": notice.delivery, "error": notice.error,
            "pack_sha256": notice.pack_sha256, "sent_at": notice.sent_at.isoformat(),
            "eml_url": f"/takedowns/{notice.takedown_id}/notices/{notice.number}.eml"}
