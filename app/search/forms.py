"""What the prisoner search and the dossier read from a query string or a form, the same for
pages and the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from pydantic import BaseModel, Field

from app.search.criteria import PrisonerSearchCriteria

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
    surname: str = Field(default="", max_length=128)
    forename: str = Field(default="", max_length=128)
    dob: str = Field(default="", max_length=16)
    alias: str = Field(default="", max_length=128)

    def criteria(self) -> PrisonerSearchCriteria:
        return PrisonerSearchCriteria(self.prison_number, self.surname, self.forename,
                                      self.dob, self.alias)


class PurposeBody(BaseModel):
    purpose: str = Field(max_length=1000)
