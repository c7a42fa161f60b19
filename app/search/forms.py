"""What the prisoner search and the dossier read from a query string or a form, the same for
pages and the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from pydantic import BaseModel, Field

from app.search.criteria import (
    FORENAMES_KEY_MAX,
    PURPOSE_MAX,
    PURPOSE_MIN,
    SURNAME_KEY_MAX,
    PrisonerSearchCriteria,
)

# Search terms and purposes travel in request bodies only, never in a URL: a URL ends up in
# access logs, proxy logs and browser history.
Number = Annotated[str, Form(max_length=16)]
Name = Annotated[str, Form(max_length=128)]
Day = Annotated[str, Form(max_length=16)]
# The stated reason for opening a dossier; the service checks it (length, characters).
PurposeForm = Annotated[str, Form(max_length=1000)]


def prisoner_search_form(
    prison_number: Number = "", surname: Name = "", forename: Name = "", dob: Day = "",
    alias: Name = "",
) -> PrisonerSearchCriteria:
    return PrisonerSearchCriteria(prison_number, surname, forename, dob, alias)


PrisonerSearchForm = Annotated[PrisonerSearchCriteria, Depends(prisoner_search_form)]


class PrisonerSearchBody(BaseModel):
    """The API's search: the same fields as the form, as JSON."""

    prison_number: str = Field(default="", max_length=16)
    surname: str = Field(default="", max_length=SURNAME_KEY_MAX)
    forename: str = Field(default="", max_length=FORENAMES_KEY_MAX)
    dob: str = Field(default="", max_length=10, pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")
    alias: str = Field(default="", max_length=SURNAME_KEY_MAX)

    def criteria(self) -> PrisonerSearchCriteria:
        return PrisonerSearchCriteria(self.prison_number, self.surname, self.forename,
                                      self.dob, self.alias)


class PurposeBody(BaseModel):
    # counted again once runs of spaces are collapsed (criteria.check_purpose)
    purpose: str = Field(min_length=PURPOSE_MIN, max_length=PURPOSE_MAX)
