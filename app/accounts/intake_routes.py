"""Intake of an account with its images: one form, one API call."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.handles import HandleError, Platform, parse_account
from app.accounts.intake import (
    AccountIntake,
    claim_key,
    request_fingerprint,
    store_answer,
    take_in,
)
from app.auth.deps import Principal, SettingsDep
from app.db import SessionDep
from app.errors import AppError, Conflict, Unprocessable
from app.evidence.errors import UploadRefused
from app.evidence.intake import SubmittedFile
from app.evidence.routes import Files, PerFile, Submitter, result_facts, submitted_files
from app.matching.routes import second_stage_job
from app.settings import Settings
from app.web import render

router = APIRouter()
PLATFORMS = [(p.value, p.display_name) for p in Platform]


def parse(text: str, platform: str) -> Any:
    try:
        hint = Platform(platform) if platform else None
    except ValueError:
        raise Unprocessable(f"Unknown platform {platform!r}.") from None
    try:
        return parse_account(text, hint)
    except HandleError as exc:
        raise Unprocessable(str(exc)) from None


def _run(db: Session, request: Request, settings: Settings, who: Principal, text: str,
         platform: str, files: list[SubmittedFile], notes: str) -> AccountIntake:
    parsed = parse(text, platform)
    try:
        outcome = take_in(db, settings, request.app.state.match_engine, who.actor,
                          parsed=parsed, files=files, notes=notes)
        db.flush()
    except IntegrityError:  # a concurrent identical submission won the race
        db.rollback()
        raise Conflict("The same account or image was submitted at the same moment; "
                       "send it again.") from None
    return outcome


def _form(request: Request, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    context = {"platforms": PLATFORMS, "submission": secrets.token_urlsafe(16), "form": {},
               **extra}
    return render(request, "accounts/new.html", context, status_code=status)


@router.get("/accounts/new")
def intake_form(request: Request, who: Submitter) -> Response:
    return _form(request)


@router.post("/accounts/new")
async def intake_submit(
    request: Request, db: SessionDep, settings: SettingsDep, who: Submitter,
    tasks: BackgroundTasks, files: Files = None,
    account: Annotated[str, Form(max_length=2048)] = "",
    platform: Annotated[str, Form(max_length=16)] = "",
    post_url: Annotated[str, Form(max_length=2048)] = "",
    posted_at: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
    submission: Annotated[str, Form(min_length=8, max_length=64)] = "",
) -> Response:
    form = {"account": account, "platform": platform, "post_url": post_url,
            "posted_at": posted_at, "notes": notes}
    try:
        submitted = await submitted_files(files, settings, [post_url], [posted_at])
        fingerprint = request_fingerprint(form, submitted)
        user_id = who.user.id or 0
        earlier = claim_key(db, user_id, f"form:{submission}", fingerprint) if submission \
            else None
        if earlier is not None:  # a double click: the first submission's answer
            return RedirectResponse(json.loads(earlier.response)["location"], status_code=303)
        outcome = await run_in_threadpool(_run, db, request, settings, who, account, platform,
                                          submitted, notes)
    except UploadRefused as exc:
        return _form(request, form=form, error=exc.message, problems=exc.problems,
                     status=exc.status_code)
    except AppError as exc:
        db.rollback()
        return _form(request, form=form, error=exc.message, status=exc.status_code)
    target = f"/accounts/{outcome.account.id}"
    if submission:
        store_answer(db, user_id, f"form:{submission}", 303, {"location": target})
    db.commit()
    ids = [r.image.id or 0 for r in outcome.results]
    tasks.add_task(second_stage_job, request.app.state, who.actor, ids)
    return RedirectResponse(target, status_code=303)


@router.post("/api/v1/accounts", status_code=201)
async def intake_api(
    request: Request, db: SessionDep, settings: SettingsDep, who: Submitter,
    tasks: BackgroundTasks, files: Files = None,
    account: Annotated[str, Form(max_length=2048)] = "",
    platform: Annotated[str, Form(max_length=16)] = "",
    post_url: PerFile = None, posted_at: PerFile = None,
    notes: Annotated[str, Form(max_length=4000)] = "",
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    """An account (profile URL, post URL or @handle with `platform`) with its images, each
    with its own post URL and time if given. Send an `Idempotency-Key` header: the same key
    again returns the first answer instead of a second submission."""
    try:
        submitted = await submitted_files(files, settings, post_url, posted_at)
    except UploadRefused as exc:
        return JSONResponse({"error": exc.title, "message": exc.message,
                             "detail": [p.__dict__ for p in exc.problems]},
                            status_code=exc.status_code)
    user_id = who.user.id or 0
    if idempotency_key:
        fingerprint = request_fingerprint(
            {"account": account, "platform": platform, "post_url": post_url,
             "posted_at": posted_at, "notes": notes}, submitted)
        earlier = claim_key(db, user_id, idempotency_key, fingerprint)
        if earlier is not None:
            return JSONResponse(json.loads(earlier.response), status_code=earlier.status_code,
                                headers={"Idempotent-Replay": "true"})
    try:
        outcome = await run_in_threadpool(_run, db, request, settings, who, account, platform,
                                          submitted, notes)
    except UploadRefused as exc:
        db.rollback()
        return JSONResponse({"error": exc.title, "message": exc.message,
                             "detail": [p.__dict__ for p in exc.problems]},
                            status_code=exc.status_code)
    tz = settings.local_timezone
    body = {
        "account": {"id": outcome.account.id, "platform": outcome.account.platform,
                    "handle": outcome.account.handle, "status": outcome.account.status,
                    "url": f"/accounts/{outcome.account.id}"},
        "created": outcome.created, "links": outcome.linked,
        "images": [result_facts(r, tz) for r in outcome.results],
    }
    status = 201 if outcome.created else 200
    if idempotency_key:
        store_answer(db, user_id, idempotency_key, status, body)
    db.commit()
    tasks.add_task(second_stage_job, request.app.state, who.actor,
                   [r.image.id or 0 for r in outcome.results])
    return JSONResponse(body, status_code=status)
