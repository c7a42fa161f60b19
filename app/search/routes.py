"""Search and dossier pages, and the same over the JSON API. No route lists prisoners beyond
the capped search: there is no bulk export."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.search import service
from app.search.criteria import SearchCriteria, show_dob
from app.search.records import Dossier, SearchResult
from app.web import render

router = APIRouter()
Searcher = Annotated[Principal, Depends(requires(P.prisoners_search))]
Revealer = Annotated[Principal, Depends(requires(P.prisoners_reveal))]
Number = Annotated[str, Query(max_length=16)]
Name = Annotated[str, Query(max_length=128)]
Day = Annotated[str, Query(max_length=16)]
Purpose = Annotated[str, Form(max_length=1000)]


@router.get("/search")
def search_page(
    request: Request, db: SessionDep, who: Searcher, prison_number: Number = "",
    surname: Name = "", forename: Name = "", dob: Day = "", alias: Name = "",
) -> Response:
    criteria = SearchCriteria(prison_number, surname, forename, dob, alias)
    context: dict[str, object] = {"form": criteria, "result": None, "error": ""}
    if criteria.is_empty():  # the bare form: nothing searched, nothing to audit
        return render(request, "search/search.html", context)
    try:
        context["result"] = service.search_prisoners(db, who.actor, criteria)
    except AppError as exc:
        db.rollback()
        return render(request, "search/search.html", {**context, "error": exc.message},
                      status_code=exc.status_code)
    db.commit()
    return render(request, "search/search.html", context)


def _dossier_page(request: Request, db: SessionDep, who: Principal, prison_number: str,
                  purpose: str, *, revealed: date | None = None) -> Response:
    try:
        found = service.dossier(db, who.actor, prison_number, purpose)
    except AppError as exc:
        if exc.status_code != 422:
            raise
        db.rollback()
        return _purpose_page(request, prison_number, purpose, exc.message, exc.status_code)
    db.commit()
    return render(request, "search/dossier.html", {
        "d": found, "can_reveal": who.can(P.prisoners_reveal),
        "revealed": show_dob(revealed) if revealed else "",
    })


def _purpose_page(request: Request, prison_number: str, purpose: str = "", error: str = "",
                  status_code: int = 200) -> Response:
    return render(request, "search/purpose.html", {
        "prison_number": service.checked_number(prison_number), "purpose": purpose,
        "error": error,
    }, status_code=status_code)


@router.get("/search/prisoners/{prison_number}")
def dossier_page(
    request: Request, db: SessionDep, who: Searcher, prison_number: str,
    purpose: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Asks for a purpose first; with one (here or posted), shows and audits the dossier."""
    if purpose is None:
        return _purpose_page(request, prison_number)
    return _dossier_page(request, db, who, prison_number, purpose)


@router.post("/search/prisoners/{prison_number}")
def dossier_post(
    request: Request, db: SessionDep, who: Searcher, prison_number: str, purpose: Purpose = "",
) -> Response:
    return _dossier_page(request, db, who, prison_number, purpose)


@router.post("/search/prisoners/{prison_number}/reveal-dob")
def reveal_dob_post(
    request: Request, db: SessionDep, who: Searcher, _reveal: Revealer, prison_number: str,
    purpose: Purpose = "",
) -> Response:
    """htmx swaps in just the date; a plain form post gets the dossier again, date shown."""
    dob = service.reveal_dob(db, who.actor, prison_number, purpose)
    if request.headers.get("hx-request"):
        db.commit()
        return render(request, "search/_dob.html", {"dob": show_dob(dob), "revealed": True})
    return _dossier_page(request, db, who, prison_number, purpose, revealed=dob)


@router.get("/api/v1/prisoners")
def search_api(
    db: SessionDep, who: Searcher, prison_number: Number = "", surname: Name = "",
    forename: Name = "", dob: Day = "", alias: Name = "",
) -> SearchResult:
    result = service.search_prisoners(
        db, who.actor, SearchCriteria(prison_number, surname, forename, dob, alias))
    db.commit()
    return result


@router.get("/api/v1/prisoners/{prison_number}/dossier")
def dossier_api(
    db: SessionDep, who: Searcher, prison_number: str,
    purpose: Annotated[str, Query(max_length=1000)],
) -> Dossier:
    found = service.dossier(db, who.actor, prison_number, purpose)
    db.commit()
    return found


class RevealRequest(BaseModel):
    purpose: str = Field(max_length=1000)


class RevealedDob(BaseModel):
    prison_number: str
    date_of_birth: date


@router.post("/api/v1/prisoners/{prison_number}/reveal-dob")
def reveal_dob_api(
    db: SessionDep, who: Searcher, _reveal: Revealer, prison_number: str, body: RevealRequest,
) -> RevealedDob:
    dob = service.reveal_dob(db, who.actor, prison_number, body.purpose)
    db.commit()
    return RevealedDob(prison_number=service.checked_number(prison_number), date_of_birth=dob)
