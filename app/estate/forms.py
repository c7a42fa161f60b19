"""What the estate's HTML forms send, turned into the services' typed arguments (422 on a bad
value, with the message `validation` gives; the same wording as the CSV import's)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypedDict

from fastapi import Form
from sqlmodel import Session

from app.estate import queries
from app.estate import validation as v
from app.estate.common import checked
from app.estate.models import Cell

Text = Annotated[str, Form(max_length=200)]
Flag = Annotated[str, Form(max_length=8)]
# A form's text as typed, given back to the page when the change is refused.
FormValues = dict[str, str]
FLAGS = ("victim_contact_restriction", "organised_crime_nominal", "category_a")


class PrisonerDetails(TypedDict):
    surname: str
    forenames: str
    date_of_birth: date
    release_date: date | None
    victim_contact_restriction: bool
    organised_crime_nominal: bool
    category_a: bool


def prisoner_details(form: FormValues) -> PrisonerDetails:
    """The prisoner form's text -> the service's typed arguments."""
    born = checked(v.required_date, form["date_of_birth"], "date of birth")
    release = checked(v.iso_date, form["release_date"], "release date", False)
    flags = {k: checked(v.flag, form[k], k.replace("_", " ")) for k in FLAGS}
    return PrisonerDetails(
        surname=form["surname"], forenames=form["forenames"], date_of_birth=born,
        release_date=release, victim_contact_restriction=flags["victim_contact_restriction"],
        organised_crime_nominal=flags["organised_crime_nominal"],
        category_a=flags["category_a"],
    )


def cell_from_form(db: Session, code: str, label: str) -> Cell:
    """A cell named in a form: 422 when the code or label is malformed, 404 when absent."""
    est = queries.get_establishment(db, checked(v.establishment_code, code))
    return queries.get_cell(db, est, checked(v.cell_label, label).label)


def required_date(text: str, what: str) -> date:
    return checked(v.required_date, text, what)


def optional_date(text: str, what: str) -> date | None:
    return checked(v.iso_date, text, what, False)


def prison_number(text: str) -> str:
    return checked(v.prison_number, text)
