"""The takedown queue: a board by state, claim next, release.

There is no bulk approval: an approver approves on each takedown's own page, where its images,
matches and attribution basis are shown (approving unseen is what four eyes must prevent).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.deps import SettingsDep
from app.auth.guards import Sender, TakedownReader
from app.auth.permissions import Permission as P
from app.db import SessionDep, utcnow
from app.takedowns import claims, queries
from app.takedowns.deps import TakedownDep
from app.takedowns.forms import PLATFORMS, board_filter, doer, establishments
from app.takedowns.presenters import time_helpers
from app.web import render
from app.web.flash import flash

router = APIRouter()
Short = Annotated[str, Query(max_length=24)]


@router.get("/takedowns")
def board_page(request: Request, db: SessionDep, settings: SettingsDep, who: TakedownReader,
               platform: Short = "", establishment: Short = "", state: Short = "") -> Response:
    flt = board_filter(db, platform, establishment, state)
    now = utcnow()
    data = queries.board(db, flt, now)
    return render(request, "takedowns/board.html", {
        **data, **time_helpers(settings.local_timezone, now),
        "filters": {"platform": platform, "establishment": establishment.upper(),
                    "state": state},
        "platforms": PLATFORMS, "establishments": establishments(db),
        "labels": {s.value: label for s, label in queries.LABELS.items()},
        "can_claim": who.can(P.takedowns_send), "can_approve": who.can(P.takedowns_approve),
        "me": who.user.id})


@router.post("/takedowns/claim-next")
def claim_next(db: SessionDep, who: Sender) -> Response:
    takedown = claims.claim_next(db, doer(who))
    if takedown is None:
        flash(db, who, "Nothing is waiting to be claimed.", "info")
        return RedirectResponse("/takedowns", status_code=303)
    flash(db, who, f"You claimed TD-{takedown.id}.")
    return RedirectResponse(f"/takedowns/{takedown.id}", status_code=303)


@router.post("/takedowns/{takedown_id:int}/release")
def release(db: SessionDep, who: Sender, takedown: TakedownDep) -> Response:
    claims.release(db, doer(who), takedown.id or 0)
    flash(db, who, f"TD-{takedown.id} is back in the queue.")
    return RedirectResponse(f"/takedowns/{takedown.id}", status_code=303)
