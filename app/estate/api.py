"""The estate over JSON: `/api/v1/estate/...`, the same services as the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from app.auth.guards import EstateEditor, EstateReader
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.estate import schemas as s
from app.estate import service as svc
from app.estate.deps import CellDep, EstablishmentDep, PrisonerDep, StayDep
from app.estate.models import Prisoner
from app.web.numbers import INT64_MAX
from app.web.wire import Day

router = APIRouter(prefix="/api/v1/estate", tags=["estate"])


@router.get("/establishments")
def list_establishments(db: SessionDep, who: EstateReader) -> list[s.EstablishmentOut]:
    return [s.EstablishmentOut.of(e, n) for e, n in svc.list_establishments(db)]


@router.post("/establishments", status_code=201)
def create_establishment(db: SessionDep, who: EstateEditor,
                         body: s.EstablishmentIn) -> s.EstablishmentOut:
    est = svc.create_establishment(db, who.actor, code=body.code, name=body.name,
                                   category=body.category, region=body.region)
    return s.EstablishmentOut.of(est)


@router.get("/establishments/{code}")
def get_establishment(who: EstateReader, est: EstablishmentDep) -> s.EstablishmentOut:
    return s.EstablishmentOut.of(est)


@router.put("/establishments/{code}")
def update_establishment(db: SessionDep, who: EstateEditor, est: EstablishmentDep,
                         body: s.EstablishmentUpdate) -> s.EstablishmentOut:
    est = svc.update_establishment(db, who.actor, est, name=body.name, category=body.category,
                                   region=body.region)
    return s.EstablishmentOut.of(est)


@router.get("/establishments/{code}/cells")
def list_cells(
    db: SessionDep, who: EstateReader, est: EstablishmentDep,
    wing: Annotated[str, Query(max_length=8)] = "",
    offset: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> s.CellPage:
    cells, total = svc.list_cells(db, est.id or 0, wing=wing, offset=offset, limit=limit)
    return s.CellPage(total=total, offset=offset, cells=[s.CellOut.of(c, est.code) for c in cells])


@router.post("/establishments/{code}/cells", status_code=201)
def create_cell(db: SessionDep, who: EstateEditor, est: EstablishmentDep,
                body: s.CellIn) -> s.CellOut:
    cell = svc.create_cell(db, who.actor, establishment=est, label=body.label,
                           capacity=body.capacity)
    return s.CellOut.of(cell, est.code)


@router.put("/establishments/{code}/cells/{label}")
def update_cell(db: SessionDep, who: EstateEditor, est: EstablishmentDep, cell: CellDep,
                body: s.CellUpdate) -> s.CellOut:
    cell = svc.update_cell(db, who.actor, cell, capacity=body.capacity)
    return s.CellOut.of(cell, est.code)


@router.get("/establishments/{code}/cells/{label}/occupancy")
def cell_occupancy(db: SessionDep, who: EstateReader, est: EstablishmentDep, cell: CellDep,
                   on: Day | None = None) -> list[s.StayOut]:
    """The cell's stays, newest first; with `on`, only who occupied it that day."""
    rows = svc.occupants_on(db, cell.id or 0, on) if on else svc.cell_history(db, cell.id or 0)
    svc.record_prisoner_read(db, who.actor, [p.id or 0 for p, _ in rows],
                             view="api cell occupancy", fields=("name", "stays"))
    return [s.StayOut.of(o, p, est.code, cell.label) for p, o in rows]


@router.post("/prisoners", status_code=201)
def create_prisoner(db: SessionDep, who: EstateEditor, body: s.PrisonerIn) -> s.PrisonerOut:
    prisoner = svc.create_prisoner(db, who.actor, **body.model_dump())
    return s.PrisonerOut.of(prisoner, dates=True)


@router.get("/prisoners/{number}")
def get_prisoner(db: SessionDep, who: EstateReader, prisoner: PrisonerDep) -> s.PrisonerOut:
    dates = who.can(P.estate_edit)
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="api prisoner",
                             fields=("name", "date_of_birth", "release_date") if dates
                             else ("name",))
    return s.PrisonerOut.of(prisoner, dates=dates)


@router.put("/prisoners/{number}")
def update_prisoner(db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
                    body: s.PrisonerUpdate) -> s.PrisonerOut:
    prisoner = svc.update_prisoner(db, who.actor, prisoner, **body.model_dump())
    return s.PrisonerOut.of(prisoner, dates=True)


@router.get("/prisoners/{number}/stays")
def prisoner_stays(db: SessionDep, who: EstateReader, prisoner: PrisonerDep) -> list[s.StayOut]:
    rows = svc.prisoner_stays(db, prisoner.id or 0)
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="api prisoner stays",
                             fields=("name", "stays"))
    return [s.StayOut.of(o, prisoner, e.code, c.label) for o, c, e in rows]


def _stay_out(db: Session, prisoner: Prisoner, stay_id: int) -> s.StayOut:
    for o, c, e in svc.prisoner_stays(db, prisoner.id or 0):
        if o.id == stay_id:
            return s.StayOut.of(o, prisoner, e.code, c.label)
    raise AssertionError("a stay just written is missing")


@router.post("/prisoners/{number}/stays", status_code=201)
def add_stay(db: SessionDep, who: EstateEditor, prisoner: PrisonerDep,
             body: s.StayIn) -> s.StayOut:
    cell = svc.get_cell(db, svc.get_establishment(db, body.establishment_code), body.cell_label)
    stay = svc.add_stay(db, who.actor, prisoner=prisoner, cell=cell, starts_on=body.starts_on,
                        ends_on=body.ends_on)
    return _stay_out(db, prisoner, stay.id or 0)


@router.post("/prisoners/{number}/move", status_code=201)
def move(db: SessionDep, who: EstateEditor, prisoner: PrisonerDep, body: s.MoveIn) -> s.StayOut:
    cell = svc.get_cell(db, svc.get_establishment(db, body.establishment_code), body.cell_label)
    stay = svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=cell, on=body.on)
    return _stay_out(db, prisoner, stay.id or 0)


@router.post("/prisoners/{number}/stays/{stay_id}/close")
def close_stay(db: SessionDep, who: EstateEditor, prisoner: PrisonerDep, stay: StayDep,
               body: s.CloseIn) -> s.StayOut:
    svc.close_stay(db, who.actor, prisoner=prisoner, stay=stay, ends_on=body.ends_on)
    return _stay_out(db, prisoner, stay.id or 0)
