"""Cell searches over JSON: `/api/v1/searches`, the same services as the pages."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth.deps import Principal, SettingsDep
from app.auth.guards import CellSearchRequester
from app.cellsearch import queries as q
from app.cellsearch import service as svc
from app.cellsearch.deps import CellSearchDep
from app.cellsearch.presenters import ItemsBody, SearchOut, SearchPage
from app.db import SessionDep
from app.errors import Unprocessable
from app.estate.queries import find_prisoner
from app.estate.service import record_prisoner_read
from app.web.dates import local_today
from app.web.numbers import INT64_MAX
from app.web.wire import Instant, Whole

router = APIRouter(prefix="/api/v1/searches", tags=["cell searches"])


class SearchIn(BaseModel):
    attribution_id: Whole
    reason: str = Field(max_length=svc.REASON_MAX)
    urgency: svc.Urgency = svc.Urgency.routine
    # None: the attributed prisoner and everyone in the cell today
    prison_numbers: list[str] | None = Field(default=None, max_length=50)


class VersionIn(BaseModel):
    version: Whole


class CompleteIn(VersionIn):
    items: ItemsBody = ItemsBody()
    searched_at: Instant | None = None  # no offset: read in the unit's local time
    outcome_note: str = Field(default="", max_length=svc.NOTE_MAX)


def _one(db: Session, who: Principal, search_id: int) -> SearchOut:
    found = q.detail(db, search_id)
    record_prisoner_read(db, who.actor, [p.id or 0 for p in found.prisoners],
                         view="api cell search", fields=("prison_number",))
    return SearchOut.of(found, [p.prison_number for p in found.prisoners])


@router.get("")
def list_searches(
    db: SessionDep, who: CellSearchRequester,
    establishment: Annotated[str, Query(max_length=3)] = "",
    state: Annotated[Literal["", "requested", "acknowledged", "completed"], Query()] = "",
    offset: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SearchPage:
    rows, total = q.list_searches(db, establishment_code=establishment, state=state,
                                  offset=offset, limit=limit)
    return SearchPage(total=total, offset=offset, searches=[SearchOut.of(r) for r in rows])


@router.post("", status_code=201)
def request_search(db: SessionDep, who: CellSearchRequester, settings: SettingsDep,
                   body: SearchIn) -> SearchOut:
    ids: list[int] | None = None
    if body.prison_numbers is not None:
        ids = []
        for number in body.prison_numbers:
            prisoner = find_prisoner(db, number)
            if prisoner is None:
                raise Unprocessable(f"There is no prisoner with prison number {number[:16]!r}.")
            ids.append(prisoner.id or 0)
    search = svc.request_search(db, who.actor, attribution_id=body.attribution_id,
                                reason=body.reason, urgency=body.urgency.value,
                                prisoner_ids=ids, day=local_today(settings.local_timezone))
    return _one(db, who, search.id or 0)


@router.get("/{search_id}")
def get_search(db: SessionDep, who: CellSearchRequester, search: CellSearchDep) -> SearchOut:
    return _one(db, who, search.id or 0)


@router.post("/{search_id}/acknowledge")
def acknowledge(db: SessionDep, who: CellSearchRequester, search: CellSearchDep,
                body: VersionIn) -> SearchOut:
    svc.acknowledge(db, who.actor, search.id or 0, expected_version=body.version)
    return _one(db, who, search.id or 0)


@router.post("/{search_id}/complete")
def complete(db: SessionDep, who: CellSearchRequester, search: CellSearchDep,
             settings: SettingsDep, body: CompleteIn) -> SearchOut:
    when = body.searched_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(settings.local_timezone))
    outcome = svc.Outcome(svc.Items(**body.items.model_dump()), when, body.outcome_note)
    svc.complete(db, who.actor, search.id or 0, expected_version=body.version, outcome=outcome)
    return _one(db, who, search.id or 0)
