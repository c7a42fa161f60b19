"""Prisoner pages: find, add, edit (supervisors), stays and aliases. Every view is audited."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.estate import service as svc
from app.estate import validation as v
from app.estate.pages import Editor, Reader, Text, cell_from_form, failed, flash
from app.web import render

router = APIRouter(prefix="/estate/prisoners")
Flag = Annotated[str, Form(max_length=8)]
PRISONER_FIELDS = ("surname", "forenames", "date_of_birth", "release_date",
                   "victim_contact_restriction", "organised_crime_nominal", "category_a")


def _url(number: str) -> str:
    return f"/estate/prisoners/{number}"


def _details(form: dict[str, str]) -> dict[str, object]:
    """The prisoner form's text -> the service's typed arguments (422 on a bad value)."""
    return {
        "surname": form["surname"], "forenames": form["forenames"],
        "date_of_birth": svc.checked(v.required_date, form["date_of_birth"], "date of birth"),
        "release_date": svc.checked(v.iso_date, form["release_date"], "release date", False),
        **{k: svc.checked(v.flag, form[k], k.replace("_", " "))
           for k in ("victim_contact_restriction", "organised_crime_nominal", "category_a")},
    }


@router.get("")
def find(db: SessionDep, who: Reader,
         number: Annotated[str, Query(max_length=32)] = "") -> Response:
    """The look-up box: go to the prisoner's page."""
    prisoner = svc.get_prisoner(db, svc.checked(v.prison_number, number))
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


def _new_page(request: Request, *, error: str = "", form: dict[str, str] | None = None,
              status: int = 200) -> Response:
    return render(request, "estate/prisoner_new.html", {"error": error, "form": form or {}},
                  status_code=status)


@router.get("/new")
def new(request: Request, who: Editor) -> Response:
    return _new_page(request)


@router.post("")
def create(request: Request, db: SessionDep, who: Editor, prison_number: Text = "",
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
                                       **_details(form))  # type: ignore[arg-type]
    except AppError as exc:
        return failed(db, exc, _new_page, request, form=form)
    flash(db, who, f"Prisoner {prisoner.prison_number} was added.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


def _page(request: Request, db: Session, who: Principal, number: str, *, error: str = "",
          form: dict[str, str] | None = None, status: int = 200) -> Response:
    prisoner = svc.get_prisoner(db, number)
    editor = who.can(P.estate_edit)
    fields = ["name", "aliases", "stays"] + (["date_of_birth", "release_date"] if editor else [])
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="prisoner page",
                             fields=fields)
    db.commit()
    return render(request, "estate/prisoner.html", {
        "prisoner": prisoner, "aliases": svc.aliases_of(db, prisoner.id or 0),
        "stays": svc.prisoner_stays(db, prisoner.id or 0), "can_edit": editor,
        "today": date.today(), "error": error, "form": form or {},
    }, status_code=status)


@router.get("/{number}")
def prisoner_page(request: Request, number: str, db: SessionDep, who: Reader) -> Response:
    return _page(request, db, who, number)


@router.post("/{number}")
def update(request: Request, number: str, db: SessionDep, who: Editor,
           surname: Text = "", date_of_birth: Text = "", forenames: Text = "",
           release_date: Text = "",
           victim_contact_restriction: Flag = "", organised_crime_nominal: Flag = "",
           category_a: Flag = "") -> Response:
    prisoner = svc.get_prisoner(db, number)
    form = {"surname": surname, "forenames": forenames, "date_of_birth": date_of_birth,
            "release_date": release_date, "victim_contact_restriction": victim_contact_restriction,
            "organised_crime_nominal": organised_crime_nominal, "category_a": category_a}
    try:
        svc.update_prisoner(db, who.actor, prisoner, **_details(form))  # type: ignore[arg-type]
    except AppError as exc:
        return failed(db, exc, _page, request, db, who, number, form=form)
    flash(db, who, f"{prisoner.prison_number} was saved.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/move")
def move(request: Request, number: str, db: SessionDep, who: Editor,
         establishment_code: Text = "", cell_label: Text = "", on: Text = "") -> Response:
    form = {"establishment_code": establishment_code, "cell_label": cell_label, "on": on}
    try:
        prisoner = svc.get_prisoner(db, number)
        cell = cell_from_form(db, establishment_code, cell_label)
        day = svc.checked(v.required_date, on, "the move day")
        svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=cell, on=day)
    except AppError as exc:
        return failed(db, exc, _page, request, db, who, number, form=form)
    flash(db, who, f"{prisoner.prison_number} moved to {cell.label} on {day}.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/stays")
def add_stay(request: Request, number: str, db: SessionDep, who: Editor,
             establishment_code: Text = "", cell_label: Text = "", starts_on: Text = "",
             ends_on: Text = "") -> Response:
    form = {"stay_establishment_code": establishment_code, "stay_cell_label": cell_label,
            "starts_on": starts_on, "ends_on": ends_on}
    try:
        prisoner = svc.get_prisoner(db, number)
        cell = cell_from_form(db, establishment_code, cell_label)
        svc.add_stay(db, who.actor, prisoner=prisoner, cell=cell,
                     starts_on=svc.checked(v.required_date, starts_on, "the first day"),
                     ends_on=svc.checked(v.iso_date, ends_on, "the last day", False))
    except AppError as exc:
        return failed(db, exc, _page, request, db, who, number, form=form)
    flash(db, who, f"The stay in {cell.label} was recorded.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/stays/{stay_id}/close")
def close(request: Request, number: str, stay_id: int, db: SessionDep, who: Editor,
          ends_on: Text = "") -> Response:
    try:
        prisoner = svc.get_prisoner(db, number)
        svc.close_stay(db, who.actor, prisoner=prisoner, stay=svc.get_stay(db, prisoner, stay_id),
                       ends_on=svc.checked(v.required_date, ends_on, "the last day"))
    except AppError as exc:
        return failed(db, exc, _page, request, db, who, number, form={"close_ends_on": ends_on})
    flash(db, who, "The stay was closed.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/aliases")
def alias_add(request: Request, number: str, db: SessionDep, who: Editor,
              alias_surname: Text = "", alias_forenames: Text = "") -> Response:
    form = {"alias_surname": alias_surname, "alias_forenames": alias_forenames}
    try:
        prisoner = svc.get_prisoner(db, number)
        svc.add_alias(db, who.actor, prisoner, surname=alias_surname, forenames=alias_forenames)
    except AppError as exc:
        return failed(db, exc, _page, request, db, who, number, form=form)
    flash(db, who, "The alias was added.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)


@router.post("/{number}/aliases/{alias_id}/delete")
def alias_remove(number: str, alias_id: int, db: SessionDep, who: Editor) -> Response:
    prisoner = svc.get_prisoner(db, number)
    svc.remove_alias(db, who.actor, prisoner, alias_id)
    flash(db, who, "The alias was removed.")
    db.commit()
    return RedirectResponse(_url(prisoner.prison_number), status_code=303)
