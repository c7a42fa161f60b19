"""Cell-search pages: the list, a search with its next step, and the request form reached from
a confirmed attribution. The JSON API (searches_api) is included in the same router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.auth.sessions import push_flash
from app.db import SessionDep
from app.errors import AppError
from app.estate.service import record_prisoner_read
from app.takedowns import searches as svc
from app.takedowns import searches_api
from app.takedowns import searches_forms as forms
from app.takedowns import searches_queries as q
from app.web import render

router = APIRouter()
router.include_router(searches_api.router)
Requester = Annotated[Principal, Depends(requires(P.searches_request))]
Short = Annotated[str, Form(max_length=16)]
Count = Annotated[str, Form(max_length=8)]
PAGE_SIZE = 50


def _flash(db: Session, who: Principal, message: str) -> None:
    if who.session_row is not None:
        push_flash(who.session_row, message, "success")
        db.add(who.session_row)


def _times(tz: str) -> dict[str, Any]:
    return {"shown": lambda t: forms.shown(t, tz), "duration": forms.duration}


@router.get("/searches")
def search_list(
    request: Request, db: SessionDep, who: Requester, settings: SettingsDep,
    establishment: Annotated[str, Query(max_length=3)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    rows, total = q.list_searches(db, establishment_code=establishment, state=state,
                                  offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(request, "searches/list.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "establishment": establishment.strip().upper(), "state": state.strip(),
        "establishments": q.establishments_with_searches(db),
        "states": [s.value for s in svc.SearchState], **_times(settings.local_timezone)})


def _detail_page(request: Request, db: Session, who: Principal, tz: str, search_id: int, *,
                 error: str = "", form: dict[str, str] | None = None,
                 status: int = 200) -> Response:
    found = q.detail(db, search_id)
    record_prisoner_read(db, who.actor, [p.id or 0 for p in found.prisoners],
                         view="cell search", fields=("name",))
    db.commit()
    return render(request, "searches/detail.html", {
        "d": found, "error": error, "form": form or {}, **_times(tz)}, status_code=status)


@router.get("/searches/{search_id}")
def search_detail(request: Request, search_id: int, db: SessionDep, who: Requester,
                  settings: SettingsDep) -> Response:
    return _detail_page(request, db, who, settings.local_timezone, search_id)


@router.post("/searches/{search_id}/acknowledge")
def search_acknowledge(request: Request, search_id: int, db: SessionDep, who: Requester,
                       settings: SettingsDep, version: Annotated[int, Form()]) -> Response:
    svc.get_search(db, search_id)  # 404 before anything is tried
    try:
        svc.acknowledge(db, who.actor, search_id, expected_version=version)
    except AppError as exc:
        db.rollback()
        return _detail_page(request, db, who, settings.local_timezone, search_id,
                            error=exc.message, status=exc.status_code)
    _flash(db, who, f"Cell search {search_id} is acknowledged.")
    db.commit()
    return RedirectResponse(f"/searches/{search_id}", status_code=303)


@router.post("/searches/{search_id}/complete")
def search_complete(
    request: Request, search_id: int, db: SessionDep, who: Requester, settings: SettingsDep,
    version: Annotated[int, Form()], phones: Count = "", sim_cards: Count = "",
    chargers: Count = "", other_items: Count = "",
    other_description: Annotated[str, Form(max_length=1000)] = "",
    searched_at: Annotated[str, Form(max_length=40)] = "",
    outcome_note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = {"phones": phones, "sim_cards": sim_cards, "chargers": chargers,
            "other_items": other_items, "other_description": other_description,
            "searched_at": searched_at, "outcome_note": outcome_note}
    tz = settings.local_timezone
    svc.get_search(db, search_id)  # 404 before anything is tried
    try:
        outcome = forms.outcome(phones=phones, sim_cards=sim_cards, chargers=chargers,
                                other_items=other_items, other_description=other_description,
                                searched_at=searched_at, note=outcome_note, tz=tz)
        done = svc.complete(db, who.actor, search_id, expected_version=version, outcome=outcome)
    except AppError as exc:
        db.rollback()
        return _detail_page(request, db, who, tz, search_id, error=exc.message, form=form,
                            status=exc.status_code)
    _flash(db, who, f"Cell search {search_id} is completed: "
                    f"{q.items_of(done).total} items recorded.")
    db.commit()
    return RedirectResponse(f"/searches/{search_id}", status_code=303)


def _new_page(request: Request, db: Session, who: Principal, tz: str, attribution_id: int, *,
              error: str = "", form: dict[str, Any] | None = None,
              status: int = 200) -> Response:
    proposal = svc.propose(db, attribution_id, forms.local_today(tz))
    record_prisoner_read(db, who.actor, [c.prisoner.id or 0 for c in proposal.candidates],
                         view="cell search request", fields=("name", "stays"))
    db.commit()
    form = form or {}
    chosen = form.get("prisoner_ids")
    return render(request, "searches/new.html", {
        "p": proposal, "error": error, "form": form, "urgencies": [u.value for u in svc.Urgency],
        "checked": (lambda i: True) if chosen is None else (lambda i: i in chosen),
        **_times(tz)}, status_code=status)


@router.get("/attributions/{attribution_id}/search/new")
def search_new(request: Request, attribution_id: int, db: SessionDep, who: Requester,
               settings: SettingsDep) -> Response:
    return _new_page(request, db, who, settings.local_timezone, attribution_id)


@router.post("/attributions/{attribution_id}/search")
def search_request(
    request: Request, attribution_id: int, db: SessionDep, who: Requester,
    settings: SettingsDep, reason: Annotated[str, Form(max_length=2000)] = "",
    urgency: Short = "", prisoner: Annotated[list[int] | None, Form()] = None,
) -> Response:
    tz, chosen = settings.local_timezone, prisoner or []
    day = forms.local_today(tz)
    svc.propose(db, attribution_id, day)  # 404 or 422 (not confirmed, no cell) as a page
    try:
        search = svc.request_search(db, who.actor, attribution_id=attribution_id,
                                    reason=reason, urgency=urgency, prisoner_ids=chosen,
                                    day=day)
    except AppError as exc:
        db.rollback()
        form = {"reason": reason, "urgency": urgency, "prisoner_ids": set(chosen)}
        return _new_page(request, db, who, tz, attribution_id, error=exc.message, form=form,
                         status=exc.status_code)
    _flash(db, who, f"Cell search {search.id} was requested.")
    db.commit()
    return RedirectResponse(f"/searches/{search.id}", status_code=303)
