"""Intake with matching, the image page with its side-by-side candidates, the review queue.

Matching owns the intake POST and the image page because both show candidates. Deciding on a
match (confirm, reject, add to the library) lives with accounts: a confirmed cell match leads
on to attribution, which is the accounts domain's business.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader, Reviewer, Submitter
from app.db import SessionDep, utcnow
from app.errors import AppError
from app.evidence.deps import ImageDep
from app.evidence.errors import FileProblem
from app.evidence.forms import Files, problems_of, submitted_files
from app.evidence.intake import take_in_evidence
from app.evidence.presenters import image_detail, intake_page, result_facts
from app.matching.jobs import match_new
from app.matching.presenters import candidates_context, review_rows
from app.matching.queue import Policy, stage_of
from app.matching.service import run_for
from app.settings import Settings
from app.web import render
from app.web.forms import refused

router = APIRouter()
REVIEW_QUEUE = 100  # newest pending matches shown


def _intake_page(request: Request, settings: Settings, *, error: str = "",
                 form: dict[str, str] | None = None, problems: list[FileProblem] | None = None,
                 status: int = 200) -> Response:
    return render(request, "evidence/intake.html",
                  intake_page(settings, form=form, error=error, problems=problems or []),
                  status_code=status)


@router.post("/intake")
def intake_submit(
    request: Request, who: Submitter, db: SessionDep, settings: SettingsDep,
    tasks: BackgroundTasks, files: Files = None,
    post_url: Annotated[str, Form(max_length=2048)] = "",
    posted_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {"post_url": post_url, "posted_at": posted_at}
    state = request.app.state
    try:
        submitted = submitted_files(files, settings, [post_url], [posted_at])
        results = take_in_evidence(db, settings, who.actor, submitted)
        ids = [r.image.id or 0 for r in results]
        match_new(db, state, who.actor, ids, tasks)
    except AppError as exc:
        return refused(db, exc, _intake_page, request, settings, form=form,
                       problems=problems_of(exc))
    tz = settings.local_timezone
    # each image with its ranked candidates, side by side, right after intake
    return render(request, "evidence/intake_result.html", {"results": [
        {**result_facts(r, tz),
         "matching": candidates_context(db, r.image.id or 0, tz, Policy.of(settings))}
        for r in results]})


@router.get("/images/{image_id}")
def image_page(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
               settings: SettingsDep) -> Response:
    tz = settings.local_timezone
    context = image_detail(db, image, tz)
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image.id or 0])
    return render(request, "evidence/image.html",
                  {**context, **candidates_context(db, image.id or 0, tz, Policy.of(settings))})


@router.get("/images/{image_id}/candidates")
def candidates_fragment(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
                        settings: SettingsDep) -> Response:
    """The candidates block alone: htmx polls it until the second stage is done."""
    return render(request, "matching/_candidates.html",
                  {**candidates_context(db, image.id or 0, settings.local_timezone,
                                        Policy.of(settings)),
                   "this_withdrawn": image.erased_at is not None})


@router.get("/images/{image_id}/stage")
def stage_fragment(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
                   settings: SettingsDep) -> Response:
    """The second stage's line alone: the account page polls it while the stage waits."""
    stage = stage_of(db, run_for(db, image.id or 0), utcnow(), Policy.of(settings))
    return render(request, "matching/_stage_poll.html",
                  {"image_id": image.id, "stage": stage, "polled": True})


@router.get("/review")
def review_queue(request: Request, who: Reviewer, db: SessionDep,
                 settings: SettingsDep) -> Response:
    return render(request, "matching/review.html",
                  {"rows": review_rows(db, REVIEW_QUEUE, settings.local_timezone)})
