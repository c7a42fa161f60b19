"""The accounts API: the queue, an account, intake of an account with its images, and the
decisions on matches and attributions."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.accounts import attribution, presenters
from app.accounts.deps import AccountDep, AttributionDep
from app.accounts.forms import Text, parse_account_text, queue_filter
from app.accounts.intake import claim_key, request_fingerprint, store_answer, take_in_once
from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import AccountReader, Attributor, Reviewer, Submitter
from app.db import SessionDep
from app.errors import Unprocessable
from app.evidence.forms import Files, PerFile, submitted_files
from app.evidence.intake import check_files
from app.matching.deps import MatchDep
from app.matching.jobs import after_answer
from app.web.paging import PageNumber

router = APIRouter()
DECISIONS = ("confirm", "reject")


@router.get("/api/v1/accounts")
def queue_api(request: Request, who: AccountReader, db: SessionDep, establishment: Text = "",
              platform: Text = "", status: Text = "", assignee: Text = "",
              page: PageNumber = 1) -> dict[str, Any]:
    flt = queue_filter(establishment, platform, status, assignee)
    return presenters.queue_json(presenters.queue(db, flt, who.user.id or 0, page, request))


@router.get("/api/v1/accounts/{account_id}")
def account_api(who: AccountReader, account: AccountDep, db: SessionDep,
                settings: SettingsDep) -> dict[str, Any]:
    context = presenters.account_page(db, account, settings.local_timezone)
    record(db, who.actor, "account.view", object_type="account", object_ids=[account.id or 0],
           details={"prisoners_shown": [p.id for _, p in context["attributions"]]})
    return presenters.account_json(account, context)


@router.post("/api/v1/accounts", status_code=201)
def intake_api(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
    tasks: BackgroundTasks, files: Files = None,
    account: Annotated[str, Form(max_length=2048)] = "",
    platform: Annotated[str, Form(max_length=16)] = "",
    post_url: PerFile = None, posted_at: PerFile = None,
    notes: Annotated[str, Form(max_length=4000)] = "",
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    """An account (profile URL, post URL or @handle with `platform`) with its images, each
    with its own post URL and time if given. Send an `Idempotency-Key` header: the same key
    again returns the first answer instead of a second submission. One transaction: the key's
    claim, the intake and the stored answer commit together, or none of them does."""
    submitted = submitted_files(files, settings, post_url, posted_at)
    # the slow checks before the first write (the key's claim), so no lock is held
    checked = check_files(db, settings, submitted) if submitted else []
    user_id = who.user.id or 0
    if idempotency_key:
        fingerprint = request_fingerprint(
            {"account": account, "platform": platform, "post_url": post_url,
             "posted_at": posted_at, "notes": notes}, submitted)
        earlier = claim_key(db, user_id, idempotency_key, fingerprint)
        if earlier is not None:
            return JSONResponse(json.loads(earlier.response), status_code=earlier.status_code,
                                headers={"Idempotent-Replay": "true"})
    parsed = parse_account_text(account, platform)
    state = request.app.state
    outcome = take_in_once(db, settings, state.match_engine, who.actor, parsed=parsed,
                           files=submitted, notes=notes, checked=checked)
    body = presenters.intake_json(outcome, settings.local_timezone)
    status = 201 if outcome.created else 200
    if idempotency_key:
        store_answer(db, user_id, idempotency_key, status, body)
    after_answer(tasks, state, who.actor, [r.image.id or 0 for r in outcome.results])
    return JSONResponse(body, status_code=status)


class MatchDecision(BaseModel):
    match_id: int
    status: str = Field(description="confirmed | rejected")
    attributions_suggested: int = Field(description="prisoners newly suggested for the "
                                                    "account(s), each once per account")
    decided_with: list[int] = Field(description="the image's other pending pairs with "
                                                "reference photos of the same cell, decided "
                                                "with this one")


@router.post("/api/v1/matches/{match_id}/{decision}", response_model=MatchDecision)
def decide_match_api(who: Reviewer, match: MatchDep, decision: str, db: SessionDep,
                     settings: SettingsDep, note: str = "") -> dict[str, Any]:
    """Decide a candidate; a cell's candidate is decided for the cell (`decided_with`)."""
    if decision not in DECISIONS:
        raise Unprocessable("The decision is 'confirm' or 'reject'.")
    done = attribution.decide_cell(db, who.actor, match, confirm=decision == "confirm",
                                   note=note, tz=settings.local_timezone)
    return {"match_id": match.id, "status": match.status,
            "attributions_suggested": len(done.suggested),
            "decided_with": [m.id for m in done.matches[1:]]}


@router.post("/api/v1/attributions/{attribution_id}/{decision}")
def decide_attribution_api(who: Attributor, row: AttributionDep, decision: str, db: SessionDep,
                           note: str = "") -> dict[str, Any]:
    if decision not in DECISIONS:
        raise Unprocessable("The decision is 'confirm' or 'reject'.")
    attribution.decide(db, who.actor, row, confirm=decision == "confirm", note=note)
    return {"attribution_id": row.id, "status": row.status, "account_id": row.account_id}
