"""Intake of an account with its images: the form.

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
from app.accounts.intake import claim_key, request_fingerprint, store_answer, take_in_once
from app.auth.deps import SettingsDep
from app.auth.guards import Submitter
from app.db import SessionDep
from app.errors import AppError
from app.evidence.errors import FileProblem
from app.evidence.forms import Files, problems_of, submitted_files
from app.evidence.intake import check_files
from app.matching.jobs import after_answer
from app.web import render
from app.web.forms import refused

router = APIRouter()


def _form_page(request: Request, *, error: str = "", form: dict[str, Any] | None = None,
               problems: list[FileProblem] | None = None, status: int = 200) -> Response:
    # a fresh submission token each time the form is shown: a double click sends it twice
    context = {"platforms": PLATFORMS, "submission": secrets.token_urlsafe(16),
               "form": form or {}, "error": error, "problems": problems or []}
    return render(request, "accounts/new.html", context, status_code=status)


@router.get("/accounts/new")
def intake_form(request: Request, who: Submitter) -> Response:
    return _form_page(request)


@router.post("/accounts/new")
def intake_submit(
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
    user_id, key = who.user.id or 0, f"form:{submission}" if submission else ""
    state = request.app.state
    try:
        submitted = submitted_files(files, settings, [post_url], [posted_at])
        # the slow checks before the first write (the key's claim), so no lock is held
        checked = check_files(db, settings, submitted) if submitted else []
        earlier = claim_key(db, user_id, key, request_fingerprint(form, submitted)) \
            if key else None
        if earlier is not None:  # a double click: the first submission's answer
            return RedirectResponse(json.loads(earlier.response)["location"], status_code=303)
        parsed = parse_account_text(account, platform)
        outcome = take_in_once(db, settings, state.match_engine, who.actor, parsed=parsed,
                               files=submitted, notes=notes, checked=checked)
        target = f"/accounts/{outcome.account.id}"
        if key:
            store_answer(db, user_id, key, 303, {"location": target})
    except AppError as exc:
        return refused(db, exc, _form_page, request, form=form, problems=problems_of(exc))
    after_answer(tasks, state, who.actor, [r.image.id or 0 for r in outcome.results])
    return RedirectResponse(target, status_code=303)
