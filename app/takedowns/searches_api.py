"""Cell searches over JSON: `/api/v1/searches`, the same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import Unprocessable
from app.estate.queries import find_prisoner
from app.estate.service import record_prisoner_read
from app.takedowns import searches as svc
from app.takedowns import searches_queries as q
from app.takedowns.searches_forms import local_today

router = APIRouter(prefix="/api/v1/searches", tags=["cell searches"])
Requester = Annotated[Principal, Depends(requires(P.searches_request))]


class ItemsBody(BaseModel):
    phones: int = Field(default=0, ge=0, le=svc.ITEM_MAX)
    sim_cards: int = Field(default=0, ge=0, le=svc.ITEM_MAX)
    chargers: int = Field(default=0, ge=0, le=svc.ITEM_MAX)
    other_items: int = Field(default=0, ge=0, le=svc.ITEM_MAX)
    other_description: str = Field(default="", max_length=svc.OTHER_MAX)


class SearchIn(BaseModel):
    attribution_id: int
    reason: str = Field(max_length=svc.REASON_MAX)
    urgency: svc.Urgency = svc.Urgency.routine
    # None: the attributed prisoner and everyone in the cell today
    prison_numbers: list[str] | None = Field(default=None, max_length=50)


class VersionIn(BaseModel):
    version: int


class CompleteIn(VersionIn):
    items: ItemsBody = ItemsBody()
    searched_at: datetime | None = None  # no offset: read in the unit's local time
    outcome_note: str = Field(default="", max_length=svc.NOTE_MAX)


class SearchOut(BaseModel):
    id: int
    state: str
    version: int
    urgency: str
    reason: str
    establishment_code: str
    cell_label: str
    attribution_id: int | None
    account_id: int | None
    requested_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    searched_at: datetime | None
    seconds_to_search: int | None
    items: ItemsBody
    items_total: int
    outcome_note: str
    prison_numbers: list[str] | None = None  # on a single search only

    @classmethod
    def of(cls, row: q.SearchRow, prison_numbers: list[str] | None = None) -> SearchOut:
        s, took = row.search, row.time_to_search
        return cls(
            id=s.id or 0, state=s.state, version=s.version, urgency=s.urgency, reason=s.reason,
            establishment_code=row.establishment.code, cell_label=row.cell.label,
            attribution_id=s.attribution_id, account_id=s.account_id,
            requested_at=s.requested_at, acknowledged_at=s.acknowledged_at,
            completed_at=s.completed_at, searched_at=s.searched_at,
            seconds_to_search=None if took is None else int(took.total_seconds()),
            items=ItemsBody(phones=s.phones, sim_cards=s.sim_cards, chargers=s.chargers,
                            other_items=s.other_items, other_description=s.other_description),
            items_total=row.items.total, outcome_note=s.outcome_note,
            prison_numbers=prison_numbers)


class SearchPage(BaseModel):
    total: int
    offset: int
    searches: list[SearchOut]


def _one(db: Session, who: Principal, search_id: int) -> SearchOut:
    found = q.detail(db, search_id)
    record_prisoner_read(db, who.actor, [p.id or 0 for p in found.prisoners],
                         view="api cell search", fields=("prison_number",))
    return SearchOut.of(found, [p.prison_number for p in found.prisoners])


@router.get("")
def list_searches(
    db: SessionDep, who: Requester, establishment: Annotated[str, Query(max_length=3)] = "",
    state: Annotated[str, Query(max_length=16)] = "", offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SearchPage:
    rows, total = q.list_searches(db, establishment_code=establishment, state=state,
                                  offset=offset, limit=limit)
    return SearchPage(total=total, offset=offset, searches=[SearchOut.of(r) for r in rows])


@router.post("", status_code=201)
def request_search(db: SessionDep, who: Requester, settings: SettingsDep,
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
    out = _one(db, who, search.id or 0)
    db.commit()
    return out


@router.get("/{search_id}")
def get_search(search_id: int, db: SessionDep, who: Requester) -> SearchOut:
    out = _one(db, who, search_id)
    db.commit()
    return out


@router.post("/{search_id}/acknowledge")
def acknowledge(search_id: int, db: SessionDep, who: Requester, body: VersionIn) -> SearchOut:
    svc.acknowledge(db, who.actor, search_id, expected_version=body.version)
    out = _one(db, who, search_id)
    db.commit()
    return out


@router.post("/{search_id}/complete")
def complete(search_id: int, db: SessionDep, who: Requester, settings: SettingsDep,
             body: CompleteIn) -> SearchOut:
    when = body.searched_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(settings.local_timezone))
    outcome = svc.Outcome(svc.Items(**body.items.model_dump()), when, body.outcome_note)
    svc.complete(db, who.actor, search_id, expected_version=body.version, outcome=outcome)
    out = _one(db, who, search_id)
    db.commit()
    return out
