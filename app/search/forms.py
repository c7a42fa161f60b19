"""What the prisoner search and the dossier read from a query string or a form, the same for
pages and the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query

from app.search.criteria import PrisonerSearchCriteria

Number = Annotated[str, Query(max_length=16)]
Name = Annotated[str, Query(max_length=128)]
Day = Annotated[str, Query(max_length=16)]
# The stated reason for opening a dossier; the service checks it (length, characters).
PurposeQuery = Annotated[str, Query(max_length=1000)]
PurposeForm = Annotated[str, Form(max_length=1000)]


def prisoner_search_query(
    prison_number: Number = "", surname: Name = "", forename: Name = "", dob: Day = "",
    alias: Name = "",
) -> PrisonerSearchCriteria:
    return PrisonerSearchCriteria(prison_number, surname, forename, dob, alias)


PrisonerSearchQuery = Annotated[PrisonerSearchCriteria, Depends(prisoner_search_query)]
