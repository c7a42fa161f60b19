"""Drafting a takedown from an account page: the form (which images and videos go in, and what
a platform needs to act), the POSTs that create or change a draft, and the account page's
panel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import display_name_of, profile_url_of
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Drafter, TakedownReader
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.evidence.presenters import thumb_size
from app.matching.presenters import frames_for
from app.takedowns import cited_videos, drafts, notice_text, packs, service
from app.takedowns.channels import CHANNELS, get_platform
from app.takedowns.deps import AccountDep, TakedownDep
from app.takedowns.drafts import Draft, DraftRefused
from app.takedowns.forms import DEFAULT_LEGAL_BASIS, doer
from app.takedowns.models import Takedown
from app.web import render
from app.web.dates import local_time
from app.web.flash import flash

router = APIRouter()
Text = Annotated[str, Form(max_length=4000)]


def _last_contact(db: Session, user_id: int) -> str:
    """The contact this person gave last time: usually the same unit mailbox."""
    return db.exec(select(Takedown.contact).where(Takedown.author_id == user_id,
                                                  Takedown.contact != "")
                   .order_by(col(Takedown.id).desc())).first() or ""


def form_page(request: Request, db: Session, who: Principal, account: Account, *,
              takedown: Takedown | None = None, form: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, error: str = "",
              status: int = 200) -> Response:
    account_id = account.id or 0
    platform = get_platform(db, account.platform)
    if form is None:
        form = ({"evidence_ids": drafts.chosen_ids(db, takedown.id or 0),
                 "video_ids": cited_videos.cited_ids(db, takedown.id or 0),
                 "reason": takedown.reason, "legal_basis": takedown.legal_basis,
                 "platform_account_id": takedown.platform_account_id,
                 "contact": takedown.contact, "good_faith": takedown.good_faith}
                if takedown else
                {"evidence_ids": [], "video_ids": [], "reason": "",
                 "legal_basis": DEFAULT_LEGAL_BASIS,
                 "platform_account_id": drafts.numeric_id_of(account),
                 "contact": _last_contact(db, who.user.id or 0), "good_faith": False})
    settings = request.app.state.settings
    held = packs.evidence_of(db, account_id)
    frames = frames_for(db, [i.id or 0 for _, i in held])
    images = [{"evidence": e, "image": i, "thumb": thumb_size(i, 160),
               "posted": local_time(e.posted_at, settings.local_timezone),
               "frame": frames.get(i.id or 0)} for e, i in held]
    clips = [{"video": v.video, "post_url": v.post_url, "frames": v.frames, "erased": v.erased,
              "posted": local_time(v.posted_at, settings.local_timezone)}
             for v in cited_videos.account_videos(db, account_id)]
    record(db, who.actor, "takedown.form_view", object_type="account", object_ids=[account_id],
           details={"takedown_id": takedown.id if takedown else None,
                    "evidence_ids": [e.id for e, _ in held],
                    "video_ids": [c["video"].id for c in clips]})
    return render(request, "takedowns/new.html", {
        "account": account, "profile_url": profile_url_of(account.platform, account.handle),
        "platform_name": display_name_of(account.platform), "platform": platform,
        "channel": CHANNELS.get(platform.channel, platform.channel),
        "address": platform.address, "takedown": takedown,
        "open": None if takedown else service.open_takedown_of(db, account_id),
        "images": images, "videos": clips, "form": form, "errors": errors or {}, "error": error,
        "reason_min": drafts.REASON_MIN, "reason_max": drafts.REASON_MAX,
        "good_faith_statement": notice_text.GOOD_FAITH_STATEMENT,
    }, status_code=status)


def _draft(evidence_ids: list[int] | None, reason: str, legal_basis: str,
           platform_account_id: str, contact: str, good_faith: str,
           video_ids: list[int] | None = None) -> Draft:
    return Draft(reason=reason, evidence_ids=tuple(evidence_ids or ()),
                 video_ids=tuple(video_ids or ()),
                 legal_basis=legal_basis, contact=contact, good_faith=good_faith == "yes",
                 platform_account_id=platform_account_id)


def _refused(db: Session, exc: AppError, request: Request, who: Principal, account: Account,
             draft: Draft, takedown: Takedown | None = None) -> Response:
    """Nothing is kept; the form comes back as typed, each message beside its field."""
    db.rollback()
    form = {"evidence_ids": list(draft.evidence_ids), "video_ids": list(draft.video_ids),
            "reason": draft.reason,
            "legal_basis": draft.legal_basis, "platform_account_id": draft.platform_account_id,
            "contact": draft.contact, "good_faith": draft.good_faith}
    fields = exc.fields if isinstance(exc, DraftRefused) else {}
    return form_page(request, db, who, account, takedown=takedown, form=form, errors=fields,
                     error="" if fields else exc.message, status=exc.status_code)


@router.get("/accounts/{account_id:int}/takedowns/new")
def new_takedown(request: Request, db: SessionDep, who: Drafter,
                 account: AccountDep) -> Response:
    return form_page(request, db, who, account)


@router.post("/accounts/{account_id:int}/takedowns")
def create_takedown(request: Request, db: SessionDep, settings: SettingsDep, who: Drafter,
                    account: AccountDep, reason: Text = "", legal_basis: Text = "",
                    platform_account_id: Annotated[str, Form(max_length=64)] = "",
                    contact: Text = "", good_faith: Annotated[str, Form(max_length=8)] = "",
                    evidence_ids: Annotated[list[int] | None, Form(max_length=500)] = None,
                    video_ids: Annotated[list[int] | None, Form(max_length=100)] = None,
                    ) -> Response:
    draft = _draft(evidence_ids, reason, legal_basis, platform_account_id, contact, good_faith,
                   video_ids)
    try:
        takedown = service.create_takedown(db, settings, doer(who), account.id or 0, draft)
    except AppError as exc:
        return _refused(db, exc, request, who, account, draft)
    flash(db, who, f"Draft TD-{takedown.id} was saved. Check notice #1 below, exactly as it "
                   "will go, then submit it for approval.")
    return RedirectResponse(f"/takedowns/{takedown.id}#preview", status_code=303)


@router.get("/takedowns/{takedown_id:int}/edit")
def edit_form(request: Request, db: SessionDep, who: Drafter,
              takedown: TakedownDep) -> Response:
    account = db.get(Account, takedown.account_id)
    assert account is not None
    return form_page(request, db, who, account, takedown=takedown)


@router.post("/takedowns/{takedown_id:int}/edit")
def edit_draft(request: Request, db: SessionDep, settings: SettingsDep, who: Drafter,
               takedown: TakedownDep, version: Annotated[int, Form()],
               reason: Text = "", legal_basis: Text = "",
               platform_account_id: Annotated[str, Form(max_length=64)] = "",
               contact: Text = "", good_faith: Annotated[str, Form(max_length=8)] = "",
               evidence_ids: Annotated[list[int] | None, Form(max_length=500)] = None,
               video_ids: Annotated[list[int] | None, Form(max_length=100)] = None,
               ) -> Response:
    draft = _draft(evidence_ids, reason, legal_basis, platform_account_id, contact, good_faith,
                   video_ids)
    account = db.get(Account, takedown.account_id)
    assert account is not None
    try:
        service.edit_draft(db, settings, doer(who), takedown.id or 0, draft, version=version)
    except AppError as exc:
        return _refused(db, exc, request, who, account, draft, takedown)
    flash(db, who, f"Draft TD-{takedown.id} was saved; notice #1 below is previewed again.")
    return RedirectResponse(f"/takedowns/{takedown.id}#preview", status_code=303)


@router.get("/accounts/{account_id:int}/takedowns/panel")
def account_panel(request: Request, db: SessionDep, who: TakedownReader,
                  account: AccountDep) -> Response:
    """The account page's takedowns (loaded by htmx: accounts sits below takedowns, so the
    account page cannot query them itself); its cell searches load into it the same way."""
    takedowns = db.exec(select(Takedown).where(Takedown.account_id == account.id)
                        .order_by(col(Takedown.created_at).desc())).all()
    return render(request, "takedowns/_account_panel.html", {
        "account_id": account.id, "takedowns": takedowns,
        "can_draft": who.can(P.takedowns_draft), "can_search": who.can(P.searches_request)})
