"""The prisoner search and dossier pages. No page lists prisoners beyond the capped search:
there is no bulk export."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.deps import Principal
from app.auth.guards import FreshFactor, PrisonerSearcher, Revealer
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.search import service
from app.search.criteria import PrisonerSearchCriteria, show_dob
from app.search.forms import PrisonerSearchForm, PurposeForm
from app.search.records import PrisonerSearchResult
from app.web import render
from app.web.forms import refused

router = APIRouter()


def _search_page(request: Request, result: PrisonerSearchResult | None = None, *,
                 form: PrisonerSearchCriteria, error: str = "", status: int = 200) -> Response:
    return render(request, "search/search.html",
                  {"form": form, "result": result, "error": error}, status_code=status)


@router.get("/search")
def prisoner_search_form(request: Request, who: PrisonerSearcher) -> Response:
    """The bare form: nothing searched, nothing to audit. Terms in a query string are not
    searched for (the form posts them)."""
    return _search_page(request, form=PrisonerSearchCriteria())


@router.post("/search")
def prisoner_search_page(
    request: Request, db: SessionDep, who: PrisonerSearcher, criteria: PrisonerSearchForm,
) -> Response:
    if criteria.is_empty():
        return _search_page(request, form=criteria)
    try:
        result = service.search_prisoners(db, who.actor, criteria)
    except AppError as exc:
        return refused(db, exc, _search_page, request, form=criteria)
    return _search_page(request, result, form=criteria)


def _purpose_page(request: Request, prison_number: str, *, form: str = "", error: str = "",
                  status: int = 200) -> Response:
    return render(request, "search/purpose.html", {
        "prison_number": service.checked_number(prison_number), "purpose": form,
        "error": error,
    }, status_code=status)


def _dossier_page(request: Request, db: SessionDep, who: Principal, prison_number: str,
                  purpose: str, *, revealed: date | None = None) -> Response:
    """The dossier, read and audited; a purpose that will not do asks for it again (422)."""
    try:
        found = service.dossier(db, who.actor, prison_number, purpose)
    except AppError as exc:
        if exc.status_code != 422:
            raise
        return refused(db, exc, _purpose_page, request, prison_number, form=purpose)
    return render(request, "search/dossier.html", {
        "d": found, "can_reveal": who.can(P.prisoners_reveal),
        "revealed": show_dob(revealed) if revealed else "",
    })


@router.get("/search/prisoners/{prison_number}")
def dossier_page(request: Request, who: PrisonerSearcher, prison_number: str) -> Response:
    """Asks for a purpose first; the form posts it (never in the URL) to open the dossier."""
    return _purpose_page(request, prison_number)


@router.post("/search/prisoners/{prison_number}")
def dossier_post(
    request: Request, db: SessionDep, who: PrisonerSearcher, _fresh: FreshFactor,
    prison_number: str,
    purpose: PurposeForm = "",
) -> Response:
    return _dossier_page(request, db, who, prison_number, purpose)


@router.post("/search/prisoners/{prison_number}/reveal-dob")
def reveal_dob_post(
    request: Request, db: SessionDep, who: PrisonerSearcher, _reveal: Revealer,
    _fresh: FreshFactor, prison_number: str, purpose: PurposeForm = "",
) -> Response:
    """htmx swaps in just the date; a plain form post gets the dossier again, date shown."""
    dob = service.reveal_dob(db, who.actor, prison_number, purpose)
    if request.headers.get("hx-request"):
        return render(request, "search/_dob.html", {"dob": show_dob(dob), "revealed": True})
    return _dossier_page(request, db, who, prison_number, purpose, revealed=dob)
