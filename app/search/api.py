"""The prisoner search and the dossier over the JSON API. No route lists prisoners beyond the
capped search: there is no bulk export."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.auth.guards import FreshFactor, PrisonerSearcher, Revealer
from app.db import SessionDep
from app.search import service
from app.search.criteria import PURPOSE_MAX, PURPOSE_MIN
from app.search.forms import PrisonerSearchBody, PurposeBody
from app.search.records import Dossier, PrisonerSearchResult

router = APIRouter()


@router.post("/api/v1/prisoners/search")
def prisoner_search_api(
    db: SessionDep, who: PrisonerSearcher, body: PrisonerSearchBody,
) -> PrisonerSearchResult:
    """The terms travel in the body, never in the URL (URLs are logged)."""
    return service.search_prisoners(db, who.actor, body.criteria())


@router.post("/api/v1/prisoners/{prison_number}/dossier")
def dossier_api(
    db: SessionDep, who: PrisonerSearcher, _fresh: FreshFactor, prison_number: str,
    body: PurposeBody,
) -> Dossier:
    """The purpose travels in the body, never in the URL."""
    return service.dossier(db, who.actor, prison_number, body.purpose)


class RevealRequest(BaseModel):
    purpose: str = Field(min_length=PURPOSE_MIN, max_length=PURPOSE_MAX)


class RevealedDob(BaseModel):
    prison_number: str
    date_of_birth: date


@router.post("/api/v1/prisoners/{prison_number}/reveal-dob")
def reveal_dob_api(
    db: SessionDep, who: PrisonerSearcher, _reveal: Revealer, _fresh: FreshFactor,
    prison_number: str, body: RevealRequest,
) -> RevealedDob:
    dob = service.reveal_dob(db, who.actor, prison_number, body.purpose)
    return RevealedDob(prison_number=service.checked_number(prison_number), date_of_birth=dob)
