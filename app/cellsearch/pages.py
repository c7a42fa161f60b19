"""Cell-search pages: the list, a search with its next step, the request form reached from a
confirmed attribution, and the account page's panel of its searches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.service import get_account
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import CellSearchRequester
from app.cellsearch import forms
from app.cellsearch import queries as q
from app.cellsearch import service as svc
from app.cellsearch.deps import CellSearchDep
from app.cellsearch.presenters import time_helpers
from app.db import SessionDep
from app.errors import AppError
from app.estate.service import record_prisoner_read
from app.web import render
from app.web.dates import local_today
from app.web.flash import flash
from app.web.forms import refused
from app.web.paging import PageNumber, page_of

router = APIRouter()
Short = Annotated[str, Form(max_length=16)]
Count = Annotated[str, Form(max_length=8)]
PAGE_SIZE = 50


@router.get("/searches")
def search_list(
    request: Request, db: SessionDep, who: CellSearchRequester, settings: SettingsDep,
    establishment: Annotated[str, Query(max_length=3)] = "",
    state: Annotated[str, Query(max_length=16)] = "", page: PageNumber = 1,
) -> Response:
    rows, total = q.list_searches(db, establishment_code=establishment, state=state,
                                  offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(request, "cellsearch/list.html", {
        "rows": rows, "page": page_of(rows, page, PAGE_SIZE, request, total=total),
        "establishment": establishment.strip().upper(), "state": state.strip(),
        "establishments": q.establishments_with_searches(db),
        "states": [s.value for s in svc.SearchState], **time_helpers(settings.local_timezone)})


def _detail_page(request: Request, db: Session, who: Principal, tz: str, search_id: int, *,
                 error: str = "", form: dict[str, str] | None = None,
                 status: int = 200) -> Response:
    found = q.detail(db, search_id)
    record_prisoner_read(db, who.actor, [p.id or 0 for p in found.prisoners],
                         view="cell search", fields=("name",))
    return render(request, "cellsearch/detail.html", {
        "d": found, "error": error, "form": form or {}, **time_helpers(tz)},
        status_code=status)


@router.get("/searches/{search_id}")
def search_detail(request: Request, db: SessionDep, who: CellSearchRequester,
                  search: CellSearchDep, settings: SettingsDep) -> Response:
    return _detail_page(request, db, who, settings.local_timezone, search.id or 0)


@router.post("/searches/{search_id}/acknowledge")
def search_acknowledge(request: Request, db: SessionDep, who: CellSearchRequester,
                       search: CellSearchDep, settings: SettingsDep,
                       version: Annotated[int, Form()]) -> Response:
    search_id = search.id or 0
    try:
        svc.acknowledge(db, who.actor, search_id, expected_version=version)
    except AppError as exc:
        return refused(db, exc, _detail_page, request, db, who, settings.local_timezone,
                       search_id)
    flash(db, who, f"Cell search {search_id} is acknowledged.")
    return RedirectResponse(f"/searches/{search_id}", status_code=303)


@router.post("/searches/{search_id}/complete")
def search_complete(
    request: Request, db: SessionDep, who: CellSearchRequester, search: CellSearchDep,
    settings: SettingsDep, version: Annotated[int, Form()], phones: Count = "",
    sim_cards: Count = "", chargers: Count = "", other_items: Count = "",
    other_description: Annotated[str, Form(max_length=1000)] = "",
    searched_at: Annotated[str, Form(max_length=40)] = "",
    outcome_note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = {"phones": phones, "sim_cards": sim_cards, "chargers": chargers,
            "other_items": other_items, "other_description": other_description,
            "searched_at": searched_at, "outcome_note": outcome_note}
    tz, search_id = settings.local_timezone, search.id or 0
    try:
        outcome = forms.outcome(phones=phones, sim_cards=sim_cards, chargers=chargers,
                                other_items=other_items, other_description=other_description,
                                searched_at=searched_at, note=outcome_note, tz=tz)
        done = svc.complete(db, who.actor, search_id, expected_version=version, outcome=outcome)
    except AppError as exc:
        return refused(db, exc, _detail_page, request, db, who, tz, search_id, form=form)
    flash(db, who, f"Cell search {search_id} is completed: "
                   f"{q.items_of(done).total} items recorded.")
    return RedirectResponse(f"/searches/{search_id}", status_code=303)


def _new_page(request: Request, db: Session, who: Principal, tz: str, attribution_id: int, *,
              error: str = "", form: dict[str, Any] | None = None,
              status: int = 200) -> Response:
    proposal = svc.propose(db, attribution_id, local_today(tz))
    record_prisoner_read(db, who.actor, [c.prisoner.id or 0 for c in proposal.candidates],
                         view="cell search request", fields=("name", "stays"))
    form = form or {}
    chosen = form.get("prisoner_ids")
    return render(request, "cellsearch/new.html", {
        "p": proposal, "error": error, "form": form, "urgencies": [u.value for u in svc.Urgency],
        "checked": (lambda i: True) if chosen is None else (lambda i: i in chosen),
        **time_helpers(tz)}, status_code=status)


@router.get("/attributions/{attribution_id}/search/new")
def search_new(request: Request, attribution_id: int, db: SessionDep, who: CellSearchRequester,
               settings: SettingsDep) -> Response:
    return _new_page(request, db, who, settings.local_timezone, attribution_id)


@router.post("/attributions/{attribution_id}/search")
def search_request(
    request: Request, attribution_id: int, db: SessionDep, who: CellSearchRequester,
    settings: SettingsDep, reason: Annotated[str, Form(max_length=2000)] = "",
    urgency: Short = "", prisoner: Annotated[list[int] | None, Form()] = None,
) -> Response:
    tz, chosen = settings.local_timezone, prisoner or []
    day = local_today(tz)
    svc.propose(db, attribution_id, day)  # 404 or 422 (not confirmed, no cell) as a page
    try:
        search = svc.request_search(db, who.actor, attribution_id=attribution_id,
                                    reason=reason, urgency=urgency, prisoner_ids=chosen,
                                    day=day)
    except AppError as exc:
        form = {"reason": reason, "urgency": urgency, "prisoner_ids": set(chosen)}
        return refused(db, exc, _new_page, request, db, who, tz, attribution_id, form=form)
    flash(db, who, f"Cell search {search.id} was requested.")
    return RedirectResponse(f"/searches/{search.id}", status_code=303)


@router.get("/accounts/{account_id:int}/searches/panel")
def account_panel(request: Request, account_id: int, db: SessionDep,
                  who: CellSearchRequester) -> Response:
    """The account page's cell searches, loaded by htmx into its takedowns panel (accounts and
    takedowns sit below cell searches, so neither can query them)."""
    get_account(db, account_id)
    return render(request, "cellsearch/_account_panel.html",
                  {"searches": q.searches_of_account(db, account_id)})
