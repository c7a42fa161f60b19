"""Estate pages: establishments, their cells, and a cell's occupancy history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.guards import EstateEditor, EstateReader
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.estate import forms
from app.estate import service as svc
from app.estate.deps import CellDep, EstablishmentDep
from app.estate.forms import FormValues, Text
from app.estate.models import Cell, Establishment
from app.web import render
from app.web.flash import flash
from app.web.forms import refused
from app.web.paging import PageNumber, page_of

router = APIRouter(prefix="/estate")
PAGE_SIZE = 50
Wing = Annotated[str, Query(max_length=8)]


def cell_url(code: str, label: str) -> str:
    return f"/estate/{code}/cells/{label}"


# --- establishments ----------------------------------------------------------------------------

def _list_page(request: Request, db: Session, who: Principal, *, error: str = "",
               form: FormValues | None = None, status: int = 200) -> Response:
    return render(request, "estate/establishments.html", {
        "establishments": svc.list_establishments(db), "can_edit": who.can(P.estate_edit),
        "error": error, "form": form or {}}, status_code=status)


@router.get("")
def establishments(request: Request, db: SessionDep, who: EstateReader) -> Response:
    return _list_page(request, db, who)


@router.post("")
def establishment_create(request: Request, db: SessionDep, who: EstateEditor, code: Text = "",
                         name: Text = "", category: Text = "",
                         region: Text = "") -> Response:
    form = {"code": code, "name": name, "category": category, "region": region}
    try:
        est = svc.create_establishment(db, who.actor, **form)
    except AppError as exc:
        return refused(db, exc, _list_page, request, db, who, form=form)
    flash(db, who, f"Establishment {est.code} was added.")
    return RedirectResponse(f"/estate/{est.code}", status_code=303)


def _est_page(request: Request, db: Session, who: Principal, est: Establishment, wing: str = "",
              number: int = 1, *, error: str = "", form: FormValues | None = None,
              status: int = 200) -> Response:
    wing = wing.strip().upper()
    cells, total = svc.list_cells(db, est.id or 0, wing=wing, offset=(number - 1) * PAGE_SIZE,
                                  limit=PAGE_SIZE)
    today = date.today()
    return render(request, "estate/establishment.html", {
        "est": est, "page": page_of(cells, number, PAGE_SIZE, request, total=total),
        "wing": wing, "wings": svc.wings_of(db, est.id or 0),
        "held": svc.occupant_counts(db, [c.id or 0 for c in cells], today), "today": today,
        "can_edit": who.can(P.estate_edit), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{code}")
def establishment(request: Request, db: SessionDep, who: EstateReader, est: EstablishmentDep,
                  wing: Wing = "", page: PageNumber = 1) -> Response:
    return _est_page(request, db, who, est, wing, page)


@router.post("/{code}")
def establishment_update(request: Request, db: SessionDep, who: EstateEditor,
                         est: EstablishmentDep, name: Text = "", category: Text = "",
                         region: Text = "") -> Response:
    form = {"name": name, "category": category, "region": region}
    try:
        svc.update_establishment(db, who.actor, est, **form)
    except AppError as exc:
        return refused(db, exc, _est_page, request, db, who, est, form=form)
    flash(db, who, f"{est.code} was saved.")
    return RedirectResponse(f"/estate/{est.code}", status_code=303)


@router.post("/{code}/cells")
def cell_create(request: Request, db: SessionDep, who: EstateEditor, est: EstablishmentDep,
                label: Text = "", capacity: Text = "1") -> Response:
    form = {"label": label, "capacity": capacity}
    try:
        cell = svc.create_cell(db, who.actor, establishment=est, label=label, capacity=capacity)
    except AppError as exc:
        return refused(db, exc, _est_page, request, db, who, est, form=form)
    flash(db, who, f"Cell {cell.label} was added to {est.code}.")
    return RedirectResponse(cell_url(est.code, cell.label), status_code=303)


# --- a cell ------------------------------------------------------------------------------------

def _cell_page(request: Request, db: Session, who: Principal, est: Establishment, cell: Cell,
               *, error: str = "", form: FormValues | None = None,
               status: int = 200) -> Response:
    history = svc.cell_history(db, cell.id or 0)
    today = date.today()
    svc.record_prisoner_read(db, who.actor, [p.id or 0 for p, _ in history], view="cell page",
                             fields=("name", "stays"))
    return render(request, "estate/cell.html", {
        "est": est, "cell": cell, "history": history, "today": today,
        "current": [(p, o) for p, o in history
                    if o.starts_on <= today and (o.ends_on is None or o.ends_on >= today)],
        "can_edit": who.can(P.estate_edit), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{code}/cells/{label}")
def cell(request: Request, db: SessionDep, who: EstateReader, est: EstablishmentDep,
         the_cell: CellDep) -> Response:
    return _cell_page(request, db, who, est, the_cell)


@router.post("/{code}/cells/{label}")
def cell_update(request: Request, db: SessionDep, who: EstateEditor, est: EstablishmentDep,
                the_cell: CellDep, capacity: Text = "") -> Response:
    try:
        svc.update_cell(db, who.actor, the_cell, capacity=capacity)
    except AppError as exc:
        return refused(db, exc, _cell_page, request, db, who, est, the_cell,
                       form={"capacity": capacity})
    flash(db, who, f"Cell {the_cell.label} was saved.")
    return RedirectResponse(cell_url(est.code, the_cell.label), status_code=303)


@router.post("/{code}/cells/{label}/occupants")
def cell_receive(request: Request, db: SessionDep, who: EstateEditor, est: EstablishmentDep,
                 the_cell: CellDep, prison_number: Text = "", on: Text = "") -> Response:
    """Put a prisoner in this cell from `on`: their current stay (if any) ends that day."""
    form = {"prison_number": prison_number, "on": on}
    try:
        day = forms.required_date(on, "the move day")
        prisoner = svc.get_prisoner(db, forms.prison_number(prison_number))
        svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=the_cell, on=day)
    except AppError as exc:
        return refused(db, exc, _cell_page, request, db, who, est, the_cell, form=form)
    flash(db, who, f"{prisoner.prison_number} is in {est.code} {the_cell.label} from {day}.")
    return RedirectResponse(cell_url(est.code, the_cell.label), status_code=303)
