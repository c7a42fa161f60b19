"""The image page with its side-by-side candidates, and the review queue.

Matching owns the image page because it shows candidates; images come in through the one
intake path (accounts/pages_intake.py), which shows them too. Deciding on a match (confirm,
reject, add to the library) lives with accounts: a confirmed cell match leads on to
attribution, which is the accounts domain's business.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader, Reviewer
from app.db import SessionDep, utcnow
from app.evidence.deps import ImageDep
from app.evidence.presenters import image_detail
from app.matching.presenters import candidates_context, review_rows
from app.matching.queue import Policy, stage_of
from app.matching.service import run_for
from app.web import render

router = APIRouter()
REVIEW_QUEUE = 100  # newest pending matches shown


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
