"""Every decision on a match or an attribution taken from a page.

A confirmed cell match suggests the prisoners in that cell (attribution, the accounts
domain's business); a confirmed match with a cell's reference photo can also grow that cell's
library (matching's service). Accounts sits above both, so all decisions on a match are here.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import attribution
from app.accounts.deps import AccountDep, AttributionDep
from app.accounts.forms import BackTo, InPlace, Note, ReturnTo
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Attributor, Librarian, Reviewer
from app.db import SessionDep
from app.matching import review
from app.matching import service as matching
from app.matching.deps import MatchDep
from app.matching.models import Match
from app.matching.presenters import review_items
from app.settings import Settings
from app.web import render

router = APIRouter()


# where a decision may send the analyst back to: a page of this app, never another site
_BACK = re.compile(r"/(accounts/\d+|images/\d+)|/review(\?[\w=&%.+-]*)?")


def _back(request: Request, match: Match, image_id: int | None, return_to: str) -> Response:
    """Back where the decision was taken: the account page, the review queue or the image."""
    target = f"/images/{image_id or match.query_image_id}"
    if _BACK.fullmatch(return_to):
        target = return_to
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _decided(request: Request, db: SessionDep, match: Match, suggested: int,
             tz: str) -> Response:
    """The queue's item again, decided, in place of the one the analyst acted on: the same
    pictures at the same size, the decision where its buttons were (nothing else moves)."""
    [described] = review_items(db, [review.item_for(db, match)], tz)
    return render(request, "matching/_review_item.html",
                  {"c": described, "decided": True, "suggested": suggested})


def _decide(request: Request, who: Principal, match: Match, db: SessionDep, settings: Settings,
            confirm: bool, note: str, back_to: int | None, return_to: str,
            in_place: str) -> Response:
    suggested = attribution.decide_match(db, who.actor, match, confirm=confirm, note=note,
                                         tz=settings.local_timezone)
    if in_place == "review" and request.headers.get("hx-request"):
        return _decided(request, db, match, len(suggested), settings.local_timezone)
    return _back(request, match, back_to, return_to)


@router.post("/matches/{match_id}/confirm")
def confirm_match(request: Request, who: Reviewer, match: MatchDep, db: SessionDep,
                  settings: SettingsDep, note: Note = "", back_to: BackTo = None,
                  return_to: ReturnTo = "", in_place: InPlace = "") -> Response:
    return _decide(request, who, match, db, settings, True, note, back_to, return_to, in_place)


@router.post("/matches/{match_id}/reject")
def reject_match(request: Request, who: Reviewer, match: MatchDep, db: SessionDep,
                 settings: SettingsDep, note: Note = "", back_to: BackTo = None,
                 return_to: ReturnTo = "", in_place: InPlace = "") -> Response:
    return _decide(request, who, match, db, settings, False, note, back_to, return_to,
                   in_place)


@router.post("/matches/{match_id}/promote")
def promote(request: Request, who: Librarian, match: MatchDep, db: SessionDep,
            settings: SettingsDep, back_to: BackTo = None,
            return_to: ReturnTo = "") -> Response:
    """A confirmed evidence image of a known cell becomes a reference photo of that cell."""
    matching.promote(db, settings, who.actor, match)
    return _back(request, match, back_to, return_to)


@router.post("/attributions/{attribution_id}/confirm")
def confirm_attribution(who: Attributor, row: AttributionDep, db: SessionDep,
                        note: Note = "") -> Response:
    attribution.decide(db, who.actor, row, confirm=True, note=note)
    return RedirectResponse(f"/accounts/{row.account_id}#attributions", status_code=303)


@router.post("/attributions/{attribution_id}/reject")
def reject_attribution(who: Attributor, row: AttributionDep, db: SessionDep,
                       note: Note = "") -> Response:
    attribution.decide(db, who.actor, row, confirm=False, note=note)
    return RedirectResponse(f"/accounts/{row.account_id}#attributions", status_code=303)


@router.post("/accounts/{account_id}/attributions")
def manual_attribution(who: Attributor, account: AccountDep, db: SessionDep,
                       prison_number: Annotated[str, Form(max_length=16)],
                       reason: Annotated[str, Form(max_length=1000)]) -> Response:
    attribution.attribute_manually(db, who.actor, account.id or 0, prison_number, reason)
    return RedirectResponse(f"/accounts/{account.id}#attributions", status_code=303)
