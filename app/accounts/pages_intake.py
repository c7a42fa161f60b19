"""The intake forms: images alone (`/intake`), or an account with its images
(`/accounts/new`). Both go through the one intake path (accounts/intake.py `take_in`).

One POST is one transaction: the double-click key's claim, the intake and the answer stored
for the key commit together when the route returns (see accounts/intake.py).
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.forms import PLATFORMS, parse_account_text
from app.accounts.intake import KeyClaim, request_fingerprint, store_answer, take_in
from app.auth.deps import SettingsDep
from app.auth.guards import Submitter
from app.db import SessionDep
from app.errors import AppError
from app.evidence.errors import FileProblem
from app.evidence.forms import Files, problems_of, submitted_files
from app.evidence.presenters import intake_page, result_facts
from app.evidence.video_presenters import video_result_facts
from app.matching.jobs import after_answer
from app.matching.presenters import candidates_context
from app.matching.queue import Policy
from app.settings import Settings
from app.web import render
from app.web.dates import parse_local_datetime
from app.web.forms import refused

router = APIRouter()


def _images_form(request: Request, settings: Settings, *, error: str = "",
                 form: dict[str, str] | None = None, problems: list[FileProblem] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "evidence/intake.html",
                  intake_page(settings, form=form, error=error, problems=problems or [],
                              errors=_with_files(errors, problems)),
                  status_code=status)


def _with_files(errors: dict[str, str] | None,
                problems: list[FileProblem] | None) -> dict[str, str]:
    """Each refused file is listed beside the file field (a browser cannot keep the files)."""
    errors = dict(errors or {})
    if problems:
        errors["files"] = "Nothing was stored: choose the files again, leaving out or fixing these."
    return errors


@router.get("/intake")
def images_form(request: Request, settings: SettingsDep, who: Submitter) -> Response:
    return _images_form(request, settings)


@router.post("/intake")
def images_submit(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
    tasks: BackgroundTasks, files: Files = None,
    post_url: Annotated[str, Form(max_length=2048)] = "",
    posted_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {"post_url": post_url, "posted_at": posted_at}
    try:  # before any file is read: the reason beside its field, the form kept
        parse_local_datetime(posted_at, settings.local_timezone, "post time")
    except AppError as exc:
        return _images_form(request, settings, form=form, errors={"posted_at": exc.message},
                            status=exc.status_code)
    state = request.app.state
    try:
        submitted = submitted_files(files, settings, [post_url], [posted_at])
        outcome = take_in(db, settings, state.match_engine, who.actor, submitted)
    except AppError as exc:
        return refused(db, exc, _images_form, request, settings, form=form,
                       problems=problems_of(exc))
    after_answer(tasks, state, who.actor, outcome.image_ids, outcome.video_ids)
    tz = settings.local_timezone
    # each image with its ranked candidates, side by side, right after intake
    return render(request, "evidence/intake_result.html", {"results": [
        {**result_facts(r, tz),
         "matching": candidates_context(db, r.image.id or 0, tz, Policy.of(settings))}
        for r in outcome.results], "videos": [video_result_facts(v, tz) for v in outcome.videos]})


def _account_form(request: Request, *, error: str = "", form: dict[str, Any] | None = None,
                  problems: list[FileProblem] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> Response:
    # a fresh submission token each time the form is shown: a double click sends it twice
    errors = _with_files(errors, problems)
    context = {"platforms": PLATFORMS, "submission": secrets.token_urlsafe(16),
               "form": form or {}, "error": error, "problems": problems or [],
               "errors": errors}
    return render(request, "accounts/new.html", context, status_code=status)


def _field_errors(account: str, platform: str, posted_at: str, tz: str) -> dict[str, str]:
    errors = {}
    if platform and platform not in dict(PLATFORMS):
        errors["platform"] = "Choose a platform from the list, or leave it to the link."
    else:
        try:
            parse_account_text(account, platform)
        except AppError as exc:
            errors["account"] = exc.message
    try:
        parse_local_datetime(posted_at, tz, "post time")
    except AppError as exc:
        errors["posted_at"] = exc.message
    return errors


@router.get("/accounts/new")
def account_form(request: Request, who: Submitter) -> Response:
    return _account_form(request)


@router.post("/accounts/new")
def account_submit(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
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
    errors = _field_errors(account, platform, posted_at, settings.local_timezone)
    if errors:  # before any file is read: each reason beside its field, the form kept
        return _account_form(request, form=form, errors=errors, status=422)
    user_id = who.user.id or 0
    state = request.app.state
    try:
        submitted = submitted_files(files, settings, [post_url], [posted_at])
        parsed = parse_account_text(account, platform)
        key = KeyClaim(user_id, f"form:{submission}", request_fingerprint(form, submitted)) \
            if submission else None
        outcome = take_in(db, settings, state.match_engine, who.actor, submitted,
                          account=parsed, notes=notes, key=key)
        if outcome.replay is not None:  # a double click: the first submission's answer
            return RedirectResponse(json.loads(outcome.replay.response)["location"],
                                    status_code=303)
        assert outcome.account is not None
        target = f"/accounts/{outcome.account.id}"
        if key is not None:
            store_answer(db, user_id, key.key, 303, {"location": target})
    except AppError as exc:
        return refused(db, exc, _account_form, request, form=form, problems=problems_of(exc))
    after_answer(tasks, state, who.actor, outcome.image_ids, outcome.video_ids)
    return RedirectResponse(target, status_code=303)
