"""The accounts API: the queue, an account, and the decisions on matches and attributions
(intake of an account with its images: api_intake.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from app.accounts import attribution, presenters
from app.accounts.deps import AccountDep, AttributionDep
from app.accounts.forms import Text, queue_filter
from app.accounts.schemas import AccountOut, AttributionDecision, QueuePage
from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import AccountReader, Attributor, Reviewer
from app.db import SessionDep
from app.matching.deps import MatchDep
from app.web.paging import PageNumber

router = APIRouter()
# The filters' values, declared so that the document lists them (the pages share queue_filter)
Status = Annotated[Literal["", "open", "new", "under_review", "attributed", "takedown_requested",
                           "removed", "re_emerged", "no_further_action"],
                   Query(description="empty or open: every status but the closed ones")]
Assignee = Annotated[str, Query(pattern=r"^(|me|none|[0-9]{1,18})$",
                                description="me, none or a user's number")]
Suggested = Annotated[Literal["", "suggested"], Query()]
Decision = Annotated[Literal["confirm", "reject"], Path()]


@router.get("/api/v1/accounts", response_model=QueuePage)
def queue_api(request: Request, who: AccountReader, db: SessionDep, establishment: Text = "",
              platform: Text = "", status: Status = "", assignee: Assignee = "",
              attribution: Suggested = "", page: PageNumber = 1) -> dict[str, Any]:
    flt = queue_filter(establishment, platform, status, assignee, attribution)
    return presenters.queue_json(presenters.queue(db, flt, who.user.id or 0, page, request))


@router.get("/api/v1/accounts/{account_id}", response_model=AccountOut)
def account_api(who: AccountReader, account: AccountDep, db: SessionDep,
                settings: SettingsDep) -> dict[str, Any]:
    context = presenters.account_page(db, account, settings.local_timezone)
    record(db, who.actor, "account.view", object_type="account", object_ids=[account.id or 0],
           details={"prisoners_shown": [p.id for _, p in context["attributions"]]})
    return presenters.account_json(account, context)


class MatchDecision(BaseModel):
    match_id: int
    status: str = Field(description="confirmed | rejected")
    attributions_suggested: int = Field(description="prisoners newly suggested for the "
                                                    "account(s), each once per account")
    decided_with: list[int] = Field(description="the image's other pending pairs with "
                                                "reference photos of the same cell, decided "
                                                "with this one")


@router.post("/api/v1/matches/{match_id}/{decision}", response_model=MatchDecision)
def decide_match_api(who: Reviewer, match: MatchDep, decision: Decision, db: SessionDep,
                     settings: SettingsDep, note: str = "") -> dict[str, Any]:
    """Decide a candidate; a cell's candidate is decided for the cell (`decided_with`)."""
    done = attribution.decide_cell(db, who.actor, match, confirm=decision == "confirm",
                                   note=note, tz=settings.local_timezone)
    return {"match_id": match.id, "status": match.status,
            "attributions_suggested": len(done.suggested),
            "decided_with": [m.id for m in done.matches[1:]]}


@router.post("/api/v1/attributions/{attribution_id}/{decision}",
             response_model=AttributionDecision)
def decide_attribution_api(who: Attributor, row: AttributionDep, decision: Decision,
                           db: SessionDep, note: str = "") -> dict[str, Any]:
    attribution.decide(db, who.actor, row, confirm=decision == "confirm", note=note)
    return {"attribution_id": row.id, "status": row.status, "account_id": row.account_id}
