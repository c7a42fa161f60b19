"""Intake with matching, the side-by-side candidates, the review queue, library growth.

Confirming or rejecting a match lives with accounts: a confirmed cell match leads on to
attribution, which is the accounts domain's business.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.audit.service import Actor, record
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError, Unprocessable
from app.evidence.errors import UploadRefused
from app.evidence.models import ReferencePhoto
from app.evidence.reference import add_reference_from_image
from app.evidence.routes import (
    Files,
    PerFile,
    Reader,
    Submitter,
    form_context,
    image_detail,
    intake,
    result_facts,
    submitted_files,
)
from app.matching import service
from app.matching.engine import MatchEngine
from app.matching.models import Match
from app.matching.views import describe
from app.web import render

router = APIRouter()
Reviewer = Annotated[Principal, Depends(requires(P.matches_review))]
Librarian = Annotated[Principal, Depends(requires(P.library_edit))]


def engine_of(request: Request) -> MatchEngine:
    return request.app.state.match_engine


def second_stage_job(state: Any, actor: Actor, image_ids: list[int]) -> None:
    """Runs after the response: local-feature verification, one commit per image."""
    for image_id in image_ids:
        with state.session_factory() as session:
            service.second_stage(session, state.match_engine, actor, image_id)
            session.commit()


def match_new(request: Request, db: Session, who: Principal, image_ids: list[int],
              tasks: BackgroundTasks) -> None:
    """First stage now (in this request's transaction), second stage after the response."""
    service.first_stage(db, engine_of(request), who.actor, image_ids)
    db.commit()
    tasks.add_task(second_stage_job, request.app.state, who.actor, image_ids)


@router.post("/intake")
async def intake_submit(
    request: Request, db: SessionDep, settings: SettingsDep, who: Submitter,
    tasks: BackgroundTasks, files: Files = None,
    post_url: Annotated[str, Form(max_length=2048)] = "",
    posted_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {"post_url": post_url, "posted_at": posted_at}
    try:
        submitted = await submitted_files(files, settings, [post_url], [posted_at])
        results = await run_in_threadpool(intake, db, settings, who, submitted)
    except UploadRefused as exc:
        return render(request, "evidence/intake.html",
                      form_context(settings, form=form, error=exc.message,
                                   problems=exc.problems), status_code=exc.status_code)
    except AppError as exc:
        return render(request, "evidence/intake.html",
                      form_context(settings, form=form, error=exc.message),
                      status_code=exc.status_code)
    ids = [r.image.id or 0 for r in results]
    await run_in_threadpool(match_new, request, db, who, ids, tasks)
    tz = settings.local_timezone
    # each image with its ranked candidates, side by side, right after intake
    return render(request, "evidence/intake_result.html", {"results": [
        {**result_facts(r, tz), "matching": _candidates_context(db, r.image.id or 0, tz)}
        for r in results]})


@router.post("/api/v1/images", status_code=201)
async def intake_api(
    request: Request, db: SessionDep, settings: SettingsDep, who: Submitter,
    tasks: BackgroundTasks, files: Files = None, post_url: PerFile = None,
    posted_at: PerFile = None,
) -> JSONResponse:
    """Submit one or many evidence images; answers with each image's ranked candidates.
    All-or-nothing: any refused file refuses the lot. Feature matches follow shortly
    (`GET /api/v1/images/{id}/candidates`, `second_stage_done`)."""
    try:
        submitted = await submitted_files(files, settings, post_url, posted_at)
        results = await run_in_threadpool(intake, db, settings, who, submitted)
    except UploadRefused as exc:
        return JSONResponse(
            {"error": exc.title, "message": exc.message,
             "detail": [asdict(p) for p in exc.problems]}, status_code=exc.status_code)
    ids = [r.image.id or 0 for r in results]
    await run_in_threadpool(match_new, request, db, who, ids, tasks)
    tz = settings.local_timezone
    images = [{**result_facts(r, tz), **_candidates_json(db, r.image.id or 0, tz)}
              for r in results]
    return JSONResponse({"images": images}, status_code=201 if any(
        r.created or r.new_link for r in results) else 200)


def _candidates_json(db: Session, image_id: int, tz: str) -> dict[str, Any]:
    run = service.run_for(db, image_id)
    rows = describe(db, image_id, service.candidates_for(db, image_id), tz)
    return {
        "second_stage_done": bool(run and run.second_stage_at),
        "candidates": [{
            "match_id": c["match"].id, "image_id": c["other"]["image_id"],
            "method": c["match"].method, "distance": c["match"].distance,
            "score": c["match"].inliers, "status": c["match"].status,
            "cells": c["cells"], "posts": c["posts"]} for c in rows],
    }


def _candidates_context(db: Session, image_id: int, tz: str) -> dict[str, Any]:
    run = service.run_for(db, image_id)
    return {"image_id": image_id, "run": run,
            "pending": run is None or run.second_stage_at is None,
            "candidates": describe(db, image_id, service.candidates_for(db, image_id), tz)}


@router.get("/images/{image_id}")
def image_page(request: Request, image_id: int, db: SessionDep, settings: SettingsDep,
               who: Reader) -> Response:
    context = image_detail(db, settings, who, image_id)
    return render(request, "evidence/image.html",
                  {**context, **_candidates_context(db, image_id, settings.local_timezone)})


@router.get("/images/{image_id}/candidates")
def candidates_fragment(request: Request, image_id: int, db: SessionDep, settings: SettingsDep,
                        who: Reader) -> Response:
    """The candidates block alone: htmx polls it until the second stage is done."""
    return render(request, "matching/_candidates.html",
                  _candidates_context(db, image_id, settings.local_timezone))


@router.get("/api/v1/images/{image_id}/candidates")
def candidates_api(image_id: int, db: SessionDep, settings: SettingsDep,
                   who: Reader) -> dict[str, Any]:
    image_detail(db, settings, who, image_id)  # 404s and audits like the page
    return _candidates_json(db, image_id, settings.local_timezone)


@router.get("/review")
def review_queue(request: Request, db: SessionDep, settings: SettingsDep,
                 who: Reviewer) -> Response:
    pending = db.exec(select(Match).where(Match.status == "pending")
                      .order_by(col(Match.created_at).desc()).limit(100)).all()
    rows = [(m, describe(db, m.query_image_id, [m], settings.local_timezone)) for m in pending]
    return render(request, "matching/review.html", {"rows": [(m, d[0]) for m, d in rows if d]})


def back_to_image(request: Request, match: Match, image_id: int | None,
                  return_to: str = "") -> Response:
    """Back where the decision was taken: the account page, the review queue or the image."""
    target = f"/images/{image_id or match.query_image_id}"
    if re.fullmatch(r"/(accounts/\d+|review|images/\d+)", return_to):
        target = return_to
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/matches/{match_id}/promote")
def promote(request: Request, match_id: int, db: SessionDep, settings: SettingsDep,
            who: Librarian, back_to: Annotated[int | None, Form()] = None,
            return_to: Annotated[str, Form(max_length=64)] = "") -> Response:
    """A confirmed evidence image of a known cell becomes a reference photo of that cell."""
    match = service.get_match(db, match_id)
    if match.status != "confirmed":
        raise Unprocessable("Only a confirmed match can add a photo to the cell library.")
    cell_ids = {r.cell_id for r in db.exec(select(ReferencePhoto).where(
        ReferencePhoto.image_id == match.candidate_image_id,
        col(ReferencePhoto.removed_at).is_(None))).all()}
    evidence_side = match.query_image_id
    if not cell_ids:  # the pair may be the other way round
        cell_ids = {r.cell_id for r in db.exec(select(ReferencePhoto).where(
            ReferencePhoto.image_id == match.query_image_id,
            col(ReferencePhoto.removed_at).is_(None))).all()}
        evidence_side = match.candidate_image_id
    if len(cell_ids) != 1:
        raise Unprocessable("This match does not point at exactly one cell's reference photo.")
    photo = add_reference_from_image(db, settings, who.actor, cell_id=cell_ids.pop(),
                                     image_id=evidence_side, source="evidence")
    record(db, who.actor, "match.promote", object_type="match", object_ids=[match_id],
           details={"reference_photo": photo.id})
    db.commit()
    return back_to_image(request, match, back_to, return_to)
