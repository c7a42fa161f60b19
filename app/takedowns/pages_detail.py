"""One takedown: its page (timeline, notices, the buttons the machine allows), moves, downloads.

Downloads of a notice (.eml) or its evidence pack are disclosures: evidence leaves the
service. Each is audited as `takedown.disclosure` and served with no-store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.service import get_account
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Drafter, Sender, TakedownReader
from app.auth.permissions import Permission as P
from app.db import SessionDep, utcnow
from app.errors import AppError, NotFound
from app.evidence import packkeys
from app.evidence.errors import ImageWithdrawn
from app.settings import Settings
from app.takedowns import (
    basis,
    delivery,
    drafts,
    erasure,
    machine,
    notices,
    packfiles,
    packs,
    queries,
    service,
    submissions,
    tasks,
)
from app.takedowns.channels import CHANNELS, get_platform
from app.takedowns.deps import NoticeDep, TakedownDep
from app.takedowns.forms import doer
from app.takedowns.machine import State
from app.takedowns.models import Notice, Takedown
from app.takedowns.outbox import RESENT_NOTE
from app.takedowns.presenters import time_helpers
from app.web import render
from app.web.dates import parse_local_datetime
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def page(request: Request, db: Session, settings: Settings, who: Principal, takedown_id: int,
         *, error: str = "", status: int = 200) -> Response:
    now = utcnow()
    takedown = service.get_takedown(db, takedown_id)
    context = queries.detail(db, takedown, now)
    platform = get_platform(db, takedown.platform)
    buttons = machine.available(State(takedown.state), who.permissions,
                                actor_id=who.user.id or 0, author_id=takedown.author_id,
                                channel=platform.channel)
    evidence = basis.basis_of(db, takedown, settings.local_timezone)
    # what this page shows of people and pictures is a read of personal data
    record(db, who.actor, "takedown.view", object_type="takedown", object_ids=[takedown_id],
           details={"account_id": takedown.account_id, "image_ids": evidence.image_ids,
                    "video_ids": evidence.video_ids, "prisoner_ids": evidence.prisoner_ids})
    preview = drafts.preview_of(db, takedown_id)
    pack_keys = [row["notice"].pack_key for row in context["notices"]]
    return render(request, "takedowns/takedown.html", {
        **context, **time_helpers(settings.local_timezone, now), "buttons": buttons,
        "preview": preview, "basis": evidence,
        # packs erased with an image they held: said where their download was, with why
        "erased_packs": packkeys.erased(db, pack_keys + ([preview.pack_key] if preview else [])),
        "can_edit": takedown.state == State.draft and takedown.author_id == who.user.id,
        "platform": platform, "channel_label": CHANNELS.get(platform.channel, platform.channel),
        "can_download": who.can(P.takedowns_send), "error": error,
        "is_author_waiting": takedown.state == State.awaiting_approval
        and takedown.author_id == who.user.id and who.can(P.takedowns_approve),
        "me": who.user.id, "can_release": takedown.claimed_by is not None and (
            takedown.claimed_by == who.user.id or who.can(P.takedowns_approve)),
        "local_zone": settings.local_timezone, "resent_note": RESENT_NOTE,
    }, status_code=status)


@router.get("/takedowns/{takedown_id:int}")
def takedown_page(request: Request, db: SessionDep, settings: SettingsDep,
                  who: TakedownReader, takedown: TakedownDep) -> Response:
    return page(request, db, settings, who, takedown.id or 0)


@router.post("/takedowns/{takedown_id:int}/transition")
def transition(request: Request, db: SessionDep, settings: SettingsDep, who: Drafter,
               takedown: TakedownDep, background: BackgroundTasks,
               action: Annotated[str, Form(max_length=24)],
               version: Annotated[int, Form()],
               note: Annotated[str, Form(max_length=2000)] = "",
               reference: Annotated[str, Form(max_length=128)] = "",
               at: Annotated[str, Form(max_length=40)] = "") -> Response:
    takedown_id = takedown.id or 0
    try:
        done = service.transition(
            db, settings, doer(who), takedown_id, action, version=version, note=note,
            reference=reference,
            at=parse_local_datetime(at, settings.local_timezone, "time"))
    except AppError as exc:  # nothing was changed: show the page as it is now, and why
        return refused(db, exc, page, request, db, settings, who, takedown_id)
    if done.due and done.notice is not None:  # delivered once this request has committed
        background.add_task(tasks.deliver_first_notice, request.app.state.session_factory,
                            settings, who.actor, done.notice.id or 0, note.strip(),
                            who.session_row.id if who.session_row else None)
        flash(db, who, f"Notice #1 of TD-{takedown_id} is on its way by "
                       f"{done.notice.channel} to {done.notice.recipient}.", "info")
    elif done.error:
        flash(db, who, done.error, "error")
    else:
        flash(db, who, f"TD-{takedown_id} is now {done.takedown.state.replace('_', ' ')}.")
    return RedirectResponse(f"/takedowns/{takedown_id}", status_code=303)


@router.post("/takedowns/{takedown_id:int}/notices/{number:int}/submitted")
def notice_submitted(request: Request, db: SessionDep, settings: SettingsDep, who: Sender,
                     takedown: TakedownDep, number: int,
                     reference: Annotated[str, Form(max_length=128)] = "",
                     at: Annotated[str, Form(max_length=40)] = "") -> Response:
    """A portal re-notice filed by hand (notice #1 goes through the transition above)."""
    takedown_id = takedown.id or 0
    try:
        submissions.record_submitted(
            db, doer(who), takedown_id, number, reference=reference,
            at=parse_local_datetime(at, settings.local_timezone, "time"), now=utcnow())
    except AppError as exc:
        return refused(db, exc, page, request, db, settings, who, takedown_id)
    flash(db, who, f"Notice #{number} of TD-{takedown_id} is recorded as submitted.")
    return RedirectResponse(f"/takedowns/{takedown_id}", status_code=303)


PACK_MISSING = ("The evidence pack of this notice is missing from storage; this has been "
                "logged, tell the system administrator.")


def _not_withdrawn(db: Session, data: bytes) -> bytes:
    """A pack holding a picture withdrawn since it was made is not given out again."""
    gone = packs.withdrawn_in(db, packs.manifest_of(data))
    if gone:
        raise ImageWithdrawn(f"This notice's evidence pack holds image(s) {gone}, withdrawn "
                             "since it was made, so it is no longer given out; its sha256 "
                             "stays on the notice. Later notices carry a pack without them.")
    return data


def _missing(db: Session, notice: Notice) -> AppError:
    """A pack deleted with the images it held (takedowns/erasure.py) is gone for good: 410."""
    gone = erasure.cites_erased(db, notice.takedown_id)
    if gone:
        return ImageWithdrawn(f"This notice's evidence pack was deleted when image(s) {gone} it "
                              "held were erased; its sha256 stays on the notice.")
    return NotFound(PACK_MISSING)


def _pack(db: Session, settings: Settings, notice: Notice) -> bytes:
    try:
        return _not_withdrawn(db, packfiles.read(db, settings, notice.pack_key))
    except packfiles.PackErased as exc:
        raise ImageWithdrawn(f"This notice's evidence pack was {exc.reason}; its key is "
                             "destroyed and its sha256 stays on the notice.") from None
    except packfiles.PackMissing:
        raise _missing(db, notice) from None


def eml_bytes(db: Session, settings: Settings, takedown: Takedown, notice: Notice) -> bytes:
    try:
        out = notices.outgoing_of(db, settings, takedown, get_account(db, takedown.account_id),
                                  notice)
    except packfiles.PackErased as exc:
        raise ImageWithdrawn(f"This notice's evidence pack was {exc.reason}; its key is "
                             "destroyed and its sha256 stays on the notice.") from None
    except packfiles.PackMissing:
        raise _missing(db, notice) from None
    _not_withdrawn(db, out.pack)
    return delivery.email_message(settings, out).as_bytes()


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        **DOWNLOAD_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/takedowns/{takedown_id:int}/notices/{number:int}.eml")
def download_eml(db: SessionDep, settings: SettingsDep, who: Sender, takedown: TakedownDep,
                 notice: NoticeDep) -> Response:
    data = eml_bytes(db, settings, takedown, notice)
    notices.disclosure(db, who.actor, takedown, notice, via="eml download")
    return _download(data, "message/rfc822", f"TD-{takedown.id}-notice-{notice.number}.eml")


@router.get("/takedowns/{takedown_id:int}/notices/{number:int}/pack")
def download_pack(db: SessionDep, settings: SettingsDep, who: Sender, takedown: TakedownDep,
                  notice: NoticeDep) -> Response:
    data = _pack(db, settings, notice)
    notices.disclosure(db, who.actor, takedown, notice, via="pack download")
    return _download(data, "application/zip", f"TD-{takedown.id}-evidence.zip")
