"""The image page with its side-by-side candidates, and the review queue.

Matching owns the image page because it shows candidates; images come in through the one
intake path (accounts/pages_intake.py), which shows them too. Deciding on a match (confirm,
reject, add to the library) lives with accounts: a confirmed cell match leads on to
attribution, which is the accounts domain's business.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import EvidenceReader, Reviewer
from app.db import SessionDep, utcnow
from app.evidence.deps import ImageDep
from app.evidence.presenters import image_detail
from app.evidence.video_presenters import clock
from app.matching import review
from app.matching.compare import compare
from app.matching.deps import MatchDep
from app.matching.models import Match
from app.matching.presenters import candidates_context, describe_ranked, review_items
from app.matching.queue import Policy, stage_of
from app.matching.service import run_for
from app.matching.video_presenters import frame_of
from app.web import render
from app.web.paging import Page, PageNumber, kept_params

router = APIRouter()
QUEUE_PAGE = 20  # items per page of the review queue
# The queue's keyboard shortcuts (static/js/review.js), listed on the page and under "?"
SHORTCUTS = [("j or ↓", "next match"), ("k or ↑", "previous match"),
             ("c", "confirm the current match"), ("r", "reject the current match"),
             ("z", "zoom: the two pictures large, agreeing points drawn"),
             ("?", "show or hide this list"), ("Esc", "close the zoom or this list")]


@router.get("/images/{image_id}")
def image_page(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
               settings: SettingsDep) -> Response:
    tz = settings.local_timezone
    context = image_detail(db, image, tz)
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image.id or 0])
    frame = frame_of(db, image.id or 0)
    return render(request, "evidence/image.html",
                  {**context, **candidates_context(db, image.id or 0, tz, Policy.of(settings)),
                   "frame": None if frame is None else {"video_id": frame[1].id,
                                                        "at": clock(frame[0].t)}})


@router.get("/images/{image_id}/candidates")
def candidates_fragment(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
                        settings: SettingsDep) -> Response:
    """The candidates block alone: htmx polls it until the second stage is done. Audited
    like the image page: the candidates show other images and their posts."""
    record(db, who.actor, "evidence.candidates.viewed", object_type="image",
           object_ids=[image.id or 0])
    return render(request, "matching/_candidates.html",
                  {**candidates_context(db, image.id or 0, settings.local_timezone,
                                        Policy.of(settings)),
                   "this_withdrawn": image.erased_at is not None})


@router.get("/images/{image_id}/stage")
def stage_fragment(request: Request, who: EvidenceReader, image: ImageDep, db: SessionDep,
                   settings: SettingsDep,
                   shown: Annotated[int, Query(ge=0, le=10000)] = 0) -> Response:
    """The second stage's line alone, polled while the stage waits; once done it counts the
    candidates beyond the `shown` ones already on the page (the list itself is not sent)."""
    stage = stage_of(db, run_for(db, image.id or 0), utcnow(), Policy.of(settings))
    total = (len(describe_ranked(db, image.id or 0, settings.local_timezone))
             if stage.state == "done" else 0)
    return render(request, "matching/_stage_poll.html",
                  {"image_id": image.id, "stage": stage, "polled": True, "shown": shown,
                   "total": total})


@router.get("/review")
def review_queue(request: Request, who: Reviewer, db: SessionDep, settings: SettingsDep,
                 page: PageNumber = 1, kind: review.Kind = "", method: review.Method = "",
                 establishment: Annotated[str, Query(pattern="^[A-Za-z]{0,3}$")] = "",
                 submitted_by: Annotated[str, Query(pattern=r"^\d{0,9}$")] = "",
                 age: review.Age = "") -> Response:
    """The queue of pending matches, in priority order (app/matching/review.py), filtered
    and paged through the URL so that a filtered page can be shared or reloaded."""
    filters = review.Filters(kind, method, establishment.upper(),
                             int(submitted_by) if submitted_by else None, age)
    ranked = review.ranked_queue(db, filters, utcnow())
    shown = Page(items=review.page_items(db, ranked[(page - 1) * QUEUE_PAGE:page * QUEUE_PAGE]),
                 number=page,
                 size=QUEUE_PAGE, total=len(ranked), params=kept_params(request))
    record(db, who.actor, "match.queue.viewed", object_type="match",
           object_ids=[i.match.id or 0 for i in shown.items],
           details={"page": page, "filters": {k: v for k, v in vars(filters).items() if v}})
    return render(request, "matching/review.html", {
        "items": review_items(db, shown.items, settings.local_timezone), "page": shown,
        "filters": filters, "choices": review.filter_choices(db), "ages": review.AGES,
        "methods": review.METHODS, "kinds": review.KINDS, "shortcuts": SHORTCUTS,
        "return_to": str(request.url.path) + (f"?{request.url.query}" if request.url.query
                                              else "")})


def _comparison(request: Request, who: Principal, match: Match, db: SessionDep,
                settings: SettingsDep, template: str) -> Response:
    seen = compare(db, settings, match)
    record(db, who.actor, "match.compared", object_type="match", object_ids=[match.id or 0],
           details={"images": [match.query_image_id, match.candidate_image_id]})
    item = review.item_for(db, match)
    [described] = review_items(db, [item], settings.local_timezone) or [None]
    return render(request, template, {"cmp": seen, "c": described, "match": match,
                                      "confidence": item.confidence})


@router.get("/matches/{match_id}")
def match_page(request: Request, who: EvidenceReader, match: MatchDep, db: SessionDep,
               settings: SettingsDep) -> Response:
    """One match large, side by side, with the points that agree drawn between them."""
    return _comparison(request, who, match, db, settings, "matching/match.html")


@router.get("/matches/{match_id}/compare")
def compare_fragment(request: Request, who: EvidenceReader, match: MatchDep, db: SessionDep,
                     settings: SettingsDep) -> Response:
    """The same comparison alone: the queue's zoom (z) loads it into the item."""
    return _comparison(request, who, match, db, settings, "matching/_compare.html")
