"""Prisoner pages: find, add, edit (supervisors), stays and aliases. Every view is audited."""

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
from app.estate.deps import PrisonerDep, StayDep
from app.estate.forms import Flag, FormValues, Text
from app.estate.models import Prisoner
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter(prefix="/estate/prisoners")


def _url(number: str) -> str:
    return f"/estate/prisoners/{number}"


@router.get("")
def find(db: SessionDep, who: EstateReader,
         number: Annotated[str, Query(max_length=32)] = "") -> Response:
    """The look-up box: go to the prisoner's page."""
    prisoner = svc.get_prisoner(db, forms.prison_number(number))
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


def _new_page(request: Request, *, error: str = "", form: FormValues | None = None,
              status: int = 200) -> Response:
    return render(request, "estate/prisoner_new.html", {"error": error, "form": form or {}},
                  status_code=status)


@router.get("/new")
def new(request: Request, who: EstateEditor) -> Response:
    return _new_page(request)


@router.post("")
def create(request: Request, db: SessionDep, who: EstateEditor, prison_number: Text = "",
           surname: Text = "", date_of_birth: Text = "", forenames: Text = "",
           release_date: Text = "",
           victim_contact_restriction: Flag = "", organised_crime_nominal: Flag = "",
           category_a: Flag = "") -> Response:
    form = {"prison_number": prison_number, "surname": surname, "forenames": forenames,
            "date_of_birth": date_of_birth, "release_date": release_date,
            "victim_contact_restriction": victim_contact_restriction,
            "organised_crime_nominal": organised_crime_nominal, "category_a": category_a}
    try:
        prisoner = svc.create_prisoner(db, who.actor, prison_number=prison_number,
                                       **forms.prisoner_details(form))
    except AppError as exc:
        return refused(db, exc, _new_page, request, form=form)
    flash(db, who, f"Prisoner {prisoner.prison_number} was added.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


def _page(request: Request, db: Session, who: Principal, prisoner: Prisoner, *,
          error: str = "", form: FormValues | None = None, status: int = 200) -> Response:
    editor = who.can(P.estate_edit)
    fields = ["name", "aliases", "stays"] + (["date_of_birth", "release_date"] if editor else [])
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="prisoner page",
                             fields=fields)
    return render(request, "estate/prisoner.html", {
        "prisoner": prisoner, "aliases": svc.aliases_of(db, prisoner.id or 0),
        "stays": svc.prisoner_stays(db, prisoner.id or 0), "can_edit": editor,
        "today": date.today(), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{number}")
def prisoner_page(request: Request, db: SessionDep, who: EstateReader,
                  prisoner: PrisonerDep) -> Response:
    return _page(request, db, who, prisoner)


@router.post("/{number}")
def update(request: Request, db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
           surname: Text = "", date_of_birth: Text = "", forenames: Text = "",
           release_date: Text = "",
           victim_contact_restriction: Flag = "", organised_crime_nominal: Flag = "",
           category_a: Flag = "") -> Response:
    form = {"surname": surname, "forenames": forenames, "date_of_birth": date_of_birth,
            "release_date": release_date, "victim_contact_restriction": victim_contact_restriction,
            "organised_crime_nominal": organised_crime_nominal, "category_a": category_a}
    try:
        svc.update_prisoner(db, who.actor, prisoner, **forms.prisoner_details(form))
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, prisoner, form=form)
    flash(db, who, f"{prisoner.prison_number} was saved.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/move")
def move(request: Request, db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
         establishment_code: Text = "", cell_label: Text = "", on: Text = "") -> Response:
    form = {"establishment_code": establishment_code, "cell_label": cell_label, "on": on}
    try:
        cell = forms.cell_from_form(db, establishment_code, cell_label)
        day = forms.required_date(on, "the move day")
        svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=cell, on=day)
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, prisoner, form=form)
    flash(db, who, f"{prisoner.prison_number} moved to {cell.label} on {day}.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/stays")
def add_stay(request: Request, db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
             establishment_code: Text = "", cell_label: Text = "", starts_on: Text = "",
             ends_on: Text = "") -> Response:
    form = {"stay_establishment_code": establishment_code, "stay_cell_label": cell_label,
            "starts_on": starts_on, "ends_on": ends_on}
    try:
        cell = forms.cell_from_form(db, establishment_code, cell_label)
        svc.add_stay(db, who.actor, prisoner=prisoner, cell=cell,
                     starts_on=forms.required_date(starts_on, "the first day"),
                     ends_on=forms.optional_date(ends_on, "the last day"))
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, prisoner, form=form)
    flash(db, who, f"The stay in {cell.label} was recorded.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/stays/{stay_id}/close")
def close(request: Request, db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
          stay: StayDep, ends_on: Text = "") -> Response:
    try:
        svc.close_stay(db, who.actor, prisoner=prisoner, stay=stay,
                       ends_on=forms.required_date(ends_on, "the last day"))
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, prisoner,
                       form={"close_ends_on": ends_on})
    flash(db, who, "The stay was closed.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/aliases")
def alias_add(request: Request, db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
              alias_surname: Text = "", alias_forenames: Text = "") -> Response:
    form = {"alias_surname": alias_surname, "alias_forenames": alias_forenames}
    try:
        svc.add_alias(db, who.actor, prisoner, surname=alias_surname, forenames=alias_forenames)
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, prisoner, form=form)
    flash(db, who, "The alias was added.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/aliases/{alias_id}/delete")
def alias_remove(alias_id: int, db: SessionDep, who: EstateEditor,
                 prisoner: PrisonerDep) -> Response:
    svc.remove_alias(db, who.actor, prisoner, alias_id)
    flash(db, who, "The alias was removed.")
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)
