"""Intake through the API: images alone, or an account with its images. Both go through the
one intake path (accounts/intake.py `take_in`) and list their images in one shape with their
ranked candidates (schemas.IntakeImage)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Form, Header, Request, Response
from fastapi.responses import JSONResponse

from app.accounts import presenters
from app.accounts.forms import parse_account_text
from app.accounts.intake import KeyClaim, request_fingerprint, store_answer, take_in
from app.accounts.platforms import Platform
from app.accounts.schemas import AccountIntake, ImagesIntake
from app.auth.deps import SettingsDep
from app.auth.guards import Submitter
from app.db import SessionDep
from app.evidence.forms import Files, PerFile, SomeFiles, submitted_files
from app.evidence.video_presenters import video_result_facts
from app.matching.jobs import after_answer

router = APIRouter()
REFUSED = {413: {"description": "a file over the size cap (`detail` names each file)"},
           415: {"description": "a file that is not JPEG, PNG or WebP, nor a video"},
           422: {"description": "a damaged or refused file, or bad form input"}}


@router.post("/api/v1/images", status_code=201, response_model=ImagesIntake,
             responses={200: {"model": ImagesIntake, "description": "every image was already "
                              "held and recorded from its post"}, **REFUSED})
def images_intake_api(
    request: Request, response: Response, who: Submitter, db: SessionDep,
    settings: SettingsDep, tasks: BackgroundTasks, files: SomeFiles,
    post_url: PerFile = None, posted_at: PerFile = None,
) -> dict[str, Any]:
    """Submit one or many evidence images; answers with each image's ranked candidates.
    All-or-nothing: any refused file refuses the lot (`detail` names each). Feature matches
    follow shortly (`GET /api/v1/images/{id}/candidates`, `second_stage_done`)."""
    submitted = submitted_files(files, settings, post_url, posted_at)
    state = request.app.state
    outcome = take_in(db, settings, state.match_engine, who.actor, submitted)
    after_answer(tasks, state, who.actor, outcome.image_ids, outcome.video_ids)
    if not outcome.anything_new:
        response.status_code = 200
    tz = settings.local_timezone
    return {"images": presenters.images_json(db, outcome.results, tz),
            "videos": [video_result_facts(v, tz) for v in outcome.videos]}


@router.post("/api/v1/accounts", status_code=201, response_model=AccountIntake,
             responses={200: {"model": AccountIntake, "description": "the account was "
                              "already held"}, **REFUSED})
def account_intake_api(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
    tasks: BackgroundTasks, account: Annotated[str, Form(min_length=1, max_length=2048)],
    files: Files = None,
    platform: Annotated[Platform | Literal[""], Form()] = "",
    post_url: PerFile = None, posted_at: PerFile = None,
    notes: Annotated[str, Form(max_length=4000)] = "",
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    """An account (profile URL, post URL or @handle with `platform`) with its images, each
    with its own post URL and time if given; its images are listed as `POST /api/v1/images`
    lists them, with their candidates. Send an `Idempotency-Key` header: the same key again
    returns the first answer instead of a second submission. One transaction: the key's
    claim, the intake and the stored answer commit together, or none of them does."""
    submitted = submitted_files(files, settings, post_url, posted_at)
    parsed = parse_account_text(account, platform)
    user_id = who.user.id or 0
    key = KeyClaim(user_id, idempotency_key, request_fingerprint(
        {"account": account, "platform": platform, "post_url": post_url,
         "posted_at": posted_at, "notes": notes}, submitted)) if idempotency_key else None
    state = request.app.state
    outcome = take_in(db, settings, state.match_engine, who.actor, submitted, account=parsed,
                      notes=notes, key=key)
    if outcome.replay is not None:
        return JSONResponse(json.loads(outcome.replay.response),
                            status_code=outcome.replay.status_code,
                            headers={"Idempotent-Replay": "true"})
    body = AccountIntake.model_validate(
        presenters.intake_json(db, outcome, settings.local_timezone)).model_dump(mode="json")
    status = 201 if outcome.created else 200
    if key is not None:
        store_answer(db, user_id, key.key, status, body)
    after_answer(tasks, state, who.actor, outcome.image_ids, outcome.video_ids)
    return JSONResponse(body, status_code=status)
