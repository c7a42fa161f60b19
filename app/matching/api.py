"""Intake with matching through the API, and an image's candidates (polled for the second
stage)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader, Submitter
from app.db import SessionDep
from app.evidence.deps import ImageDep
from app.evidence.forms import Files, PerFile, submitted_files
from app.evidence.intake import take_in_evidence
from app.evidence.presenters import result_facts
from app.matching.jobs import match_new
from app.matching.presenters import candidates_json
from app.matching.schemas import Candidates, IntakeAnswer

router = APIRouter()


@router.post("/api/v1/images", status_code=201, response_model=IntakeAnswer,
             responses={200: {"model": IntakeAnswer, "description": "nothing new"}})
def intake_api(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
    tasks: BackgroundTasks, files: Files = None, post_url: PerFile = None,
    posted_at: PerFile = None,
) -> JSONResponse:
    """Submit one or many evidence images; answers with each image's ranked candidates.
    All-or-nothing: any refused file refuses the lot (`detail` names each). Feature matches
    follow shortly (`GET /api/v1/images/{id}/candidates`, `second_stage_done`)."""
    submitted = submitted_files(files, settings, post_url, posted_at)
    results = take_in_evidence(db, settings, who.actor, submitted)
    ids = [r.image.id or 0 for r in results]
    state = request.app.state
    match_new(db, state, who.actor, ids, tasks)
    tz = settings.local_timezone
    images = [{**result_facts(r, tz), **candidates_json(db, r.image.id or 0, tz)}
              for r in results]
    return JSONResponse({"images": images}, status_code=201 if any(
        r.created or r.new_link for r in results) else 200)


@router.get("/api/v1/images/{image_id}/candidates", response_model=Candidates)
def candidates_api(who: EvidenceReader, image: ImageDep, db: SessionDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """Audited like the image page: the candidates show other images and their posts."""
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image.id or 0])
    return candidates_json(db, image.id or 0, settings.local_timezone)
