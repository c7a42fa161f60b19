"""Estate pages: establishments, their cells, and a cell's occupancy history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.auth.sessions import push_flash
from app.db import SessionDep
from app.errors import AppError
from app.estate import service as svc
from app.estate import validation as v
from app.estate.models import Cell, Establishment
from app.web import render

router = APIRouter(prefix="/estate")
Reader = Annotated[Principal, Depends(requires(P.estate_read))]
Editor = Annotated[Principal, Depends(requires(P.estate_edit))]
PAGE_SIZE = 50
Text = Annotated[str, Form(max_length=200)]


def flash(db: Session, who: Principal, message: str) -> None:
    if who.session_row is not None:
        push_flash(who.session_row, message, "success")
        db.add(who.session_row)


def failed(db: Session, exc: AppError, page: Any, *args: Any, form: dict[str, str]) -> Response:
    """Nothing of the failed change is kept; show the page again with the message."""
    db.rollback()
    return page(*args, error=exc.message, form=form, status=exc.status_code)


def cell_from_form(db: Session, code: str, label: str) -> Cell:
    """A cell named in a form: 422 when the code or label is malformed, 404 when absent."""
    est = svc.get_establishment(db, svc.checked(v.establishment_code, code))
    return svc.get_cell(db, est, svc.checked(v.cell_label, label).label)


def cell_url(code: str, label: str) -> str:
    return f"/estate/{code}/cells/{label}"


# --- establishments ----------------------------------------------------------------------------

def _list_page(request: Request, db: Session, who: Principal, *, error: str = "",
               form: dict[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "estate/establishments.html", {
        "establishments": svc.list_establishments(db), "can_edit": who.can(P.estate_edit),
        "error": error, "form": form or {}}, status_code=status)


@router.get("")
def establishments(request: Request, db: SessionDep, who: Reader) -> Response:
    return _list_page(request, db, who)


@router.post("")
def establishment_create(request: Request, db: SessionDep, who: Editor, code: Text = "",
                         name: Text = "", category: Text = "",
                         region: Text = "") -> Response:
    form = {"code": code, "name": name, "category": category, "region": region}
    try:
        est = svc.create_establishment(db, who.actor, **form)
    except AppError as exc:
        return failed(db, exc, _list_page, request, db, who, form=form)
    flash(db, who, f"Establishment {est.code} was added.")
    db.commit()
    return RedirectResponse(f"/estate/{est.code}", status_code=303)


def _est_page(request: Request, db: Session, who: Principal, est: Establishment, wing: str = "",
              page: int = 1, *, error: str = "", form: dict[str, str] | None = None,
              status: int = 200) -> Response:
    wing = wing.strip().upper()
    cells, total = svc.list_cells(db, est.id or 0, wing=wing, offset=(page - 1) * PAGE_SIZE,
                                  limit=PAGE_SIZE)
    today = date.today()
    return render(request, "estate/establishment.html", {
        "est": est, "cells": cells, "total": total, "wing": wing, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "wings": svc.wings_of(db, est.id or 0),
        "held": svc.occupant_counts(db, [c.id or 0 for c in cells], today), "today": today,
        "can_edit": who.can(P.estate_edit), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{code}")
def establishment(request: Request, code: str, db: SessionDep, who: Reader,
                  wing: Annotated[str, Query(max_length=8)] = "",
                  page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    return _est_page(request, db, who, svc.get_establishment(db, code), wing, page)


@router.post("/{code}")
def establishment_update(request: Request, code: str, db: SessionDep, who: Editor,
                         name: Text = "", category: Text = "", region: Text = "") -> Response:
    est = svc.get_establishment(db, code)
    form = {"name": name, "category": category, "region": region}
    try:
        svc.update_establishment(db, who.actor, est, **form)
    except AppError as exc:
        return failed(db, exc, _est_page, request, db, who, est, form=form)
    flash(db, who, f"{est.code} was saved.")
    db.commit()
    return RedirectResponse(f"/estate/{est.code}", status_code=303)


@router.post("/{code}/cells")
def cell_create(request: Request, code: str, db: SessionDep, who: Editor, label: Text = "",
                capacity: Text = "1") -> Response:
    est = svc.get_establishment(db, code)
    form = {"label": label, "capacity": capacity}
    try:
        cell = svc.create_cell(db, who.actor, establishment=est, label=label, capacity=capacity)
    except AppError as exc:
        return failed(db, exc, _est_page, request, db, who, est, form=form)
    flash(db, who, f"Cell {cell.label} was added to {est.code}.")
    db.commit()
    return RedirectResponse(cell_url(est.code, cell.label), status_code=303)


# --- a cell ------------------------------------------------------------------------------------

def _cell_page(request: Request, db: Session, who: Principal, code: str, label: str, *,
               error: str = "", form: dict[str, str] | None = None,
               status: int = 200) -> Response:
    est = svc.get_establishment(db, code)
    cell = svc.get_cell(db, est, label)
    history = svc.cell_history(db, cell.id or 0)
    today = date.today()
    svc.record_prisoner_read(db, who.actor, [p.id or 0 for p, _ in history], view="cell page",
                             fields=("name", "stays"))
    db.commit()
    return render(request, "estate/cell.html", {
        "est": est, "cell": cell, "history": history, "today": today,
        "current": [(p, o) for p, o in history
                    if o.starts_on <= today and (o.ends_on is None or o.ends_on >= today)],
        "can_edit": who.can(P.estate_edit), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{code}/cells/{label}")
def cell(request: Request, code: str, label: str, db: SessionDep, who: Reader) -> Response:
    return _cell_page(request, db, who, code, label)


@router.post("/{code}/cells/{label}")
def cell_update(request: Request, code: str, label: str, db: SessionDep, who: Editor,
                capacity: Text = "") -> Response:
    est = svc.get_establishment(db, code)
    the_cell = svc.get_cell(db, est, label)
    try:
        svc.update_cell(db, who.actor, the_cell, capacity=capacity)
    except AppError as exc:
        return failed(db, exc, _cell_page, request, db, who, code, label,
                      form={"capacity": capacity})
    flash(db, who, f"Cell {the_cell.label} was saved.")
    db.commit()
    return RedirectResponse(cell_url(est.code, the_cell.label), status_code=303)


@router.post("/{code}/cells/{label}/occupants")
def cell_receive(request: Request, code: str, label: str, db: SessionDep, who: Editor,
                 prison_number: Text = "", on: Text = "") -> Response:
    """Put a prisoner in this cell from `on`: their current stay (if any) ends that day."""
    form = {"prison_number": prison_number, "on": on}
    try:
        est = svc.get_establishment(db, code)
        the_cell = svc.get_cell(db, est, label)
        day = svc.checked(v.required_date, on, "the move day")
        prisoner = svc.get_prisoner(db, svc.checked(v.prison_number, prison_number))
        svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=the_cell, on=day)
    except AppError as exc:
        return failed(db, exc, _cell_page, request, db, who, code, label, form=form)
    flash(db, who, f"{prisoner.prison_number} is in {est.code} {the_cell.label} from {day}.")
    db.commit()
    return RedirectResponse(cell_url(est.code, the_cell.label), status_code=303)
