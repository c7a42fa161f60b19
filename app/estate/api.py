"""The estate over JSON: `/api/v1/estate/...`, the same services as the pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.estate import schemas as s
from app.estate import service as svc

router = APIRouter(prefix="/api/v1/estate", tags=["estate"])
Reader = Annotated[Principal, Depends(requires(P.estate_read))]
Editor = Annotated[Principal, Depends(requires(P.estate_edit))]


@router.get("/establishments")
def list_establishments(db: SessionDep, who: Reader) -> list[s.EstablishmentOut]:
    return [s.EstablishmentOut.of(e, n) for e, n in svc.list_establishments(db)]


@router.post("/establishments", status_code=201)
def create_establishment(db: SessionDep, who: Editor,
                         body: s.EstablishmentIn) -> s.EstablishmentOut:
    est = svc.create_establishment(db, who.actor, code=body.code, name=body.name,
                                   category=body.category, region=body.region)
    db.commit()
    return s.EstablishmentOut.of(est)


@router.get("/establishments/{code}")
def get_establishment(code: str, db: SessionDep, who: Reader) -> s.EstablishmentOut:
    return s.EstablishmentOut.of(svc.get_establishment(db, code))


@router.put("/establishments/{code}")
def update_establishment(code: str, db: SessionDep, who: Editor,
                         body: s.EstablishmentUpdate) -> s.EstablishmentOut:
    est = svc.update_establishment(db, who.actor, svc.get_establishment(db, code),
                                   name=body.name, category=body.category, region=body.region)
    db.commit()
    return s.EstablishmentOut.of(est)


@router.get("/establishments/{code}/cells")
def list_cells(
    code: str, db: SessionDep, who: Reader, wing: Annotated[str, Query(max_length=8)] = "",
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> s.CellPage:
    est = svc.get_establishment(db, code)
    cells, total = svc.list_cells(db, est.id or 0, wing=wing, offset=offset, limit=limit)
    return s.CellPage(total=total, offset=offset, cells=[s.CellOut.of(c, est.code) for c in cells])


@router.post("/establishments/{code}/cells", status_code=201)
def create_cell(code: str, db: SessionDep, who: Editor, body: s.CellIn) -> s.CellOut:
    est = svc.get_establishment(db, code)
    cell = svc.create_cell(db, who.actor, establishment=est, label=body.label,
                           capacity=body.capacity)
    db.commit()
    return s.CellOut.of(cell, est.code)


@router.put("/establishments/{code}/cells/{label}")
def update_cell(code: str, label: str, db: SessionDep, who: Editor,
                body: s.CellUpdate) -> s.CellOut:
    est = svc.get_establishment(db, code)
    cell = svc.update_cell(db, who.actor, svc.get_cell(db, est, label), capacity=body.capacity)
    db.commit()
    return s.CellOut.of(cell, est.code)


@router.get("/establishments/{code}/cells/{label}/occupancy")
def cell_occupancy(code: str, label: str, db: SessionDep, who: Reader,
                   on: date | None = None) -> list[s.StayOut]:
    """The cell's stays, newest first; with `on`, only who occupied it that day."""
    est = svc.get_establishment(db, code)
    cell = svc.get_cell(db, est, label)
    rows = svc.occupants_on(db, cell.id or 0, on) if on else svc.cell_history(db, cell.id or 0)
    svc.record_prisoner_read(db, who.actor, [p.id or 0 for p, _ in rows],
                             view="api cell occupancy", fields=("name", "stays"))
    db.commit()
    return [s.StayOut.of(o, p, est.code, cell.label) for p, o in rows]


@router.post("/prisoners", status_code=201)
def create_prisoner(db: SessionDep, who: Editor, body: s.PrisonerIn) -> s.PrisonerOut:
    prisoner = svc.create_prisoner(db, who.actor, **body.model_dump())
    db.commit()
    return s.PrisonerOut.of(prisoner, dates=True)


@router.get("/prisoners/{number}")
def get_prisoner(number: str, db: SessionDep, who: Reader) -> s.PrisonerOut:
    prisoner = svc.get_prisoner(db, number)
    dates = who.can(P.estate_edit)
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="api prisoner",
                             fields=("name", "date_of_birth", "release_date") if dates
                             else ("name",))
    db.commit()
    return s.PrisonerOut.of(prisoner, dates=dates)


@router.put("/prisoners/{number}")
def update_prisoner(number: str, db: SessionDep, who: Editor,
                    body: s.PrisonerUpdate) -> s.PrisonerOut:
    prisoner = svc.update_prisoner(db, who.actor, svc.get_prisoner(db, number),
                                   **body.model_dump())
    db.commit()
    return s.PrisonerOut.of(prisoner, dates=True)


@router.get("/prisoners/{number}/stays")
def prisoner_stays(number: str, db: SessionDep, who: Reader) -> list[s.StayOut]:
    prisoner = svc.get_prisoner(db, number)
    rows = svc.prisoner_stays(db, prisoner.id or 0)
    svc.record_prisoner_read(db, who.actor, [prisoner.id or 0], view="api prisoner stays",
                             fields=("name", "stays"))
    db.commit()
    return [s.StayOut.of(o, prisoner, e.code, c.label) for o, c, e in rows]


def _stay_out(db: SessionDep, number: str, stay_id: int) -> s.StayOut:
    prisoner = svc.get_prisoner(db, number)
    for o, c, e in svc.prisoner_stays(db, prisoner.id or 0):
        if o.id == stay_id:
            return s.StayOut.of(o, prisoner, e.code, c.label)
    raise AssertionError("a stay just written is missing")


@router.post("/prisoners/{number}/stays", status_code=201)
def add_stay(number: str, db: SessionDep, who: Editor, body: s.StayIn) -> s.StayOut:
    prisoner = svc.get_prisoner(db, number)
    cell = svc.get_cell(db, svc.get_establishment(db, body.establishment_code), body.cell_label)
    stay = svc.add_stay(db, who.actor, prisoner=prisoner, cell=cell, starts_on=body.starts_on,
                        ends_on=body.ends_on)
    db.commit()
    return _stay_out(db, number, stay.id or 0)


@router.post("/prisoners/{number}/move", status_code=201)
def move(number: str, db: SessionDep, who: Editor, body: s.MoveIn) -> s.StayOut:
    prisoner = svc.get_prisoner(db, number)
    cell = svc.get_cell(db, svc.get_establishment(db, body.establishment_code), body.cell_label)
    stay = svc.move_prisoner(db, who.actor, prisoner=prisoner, cell=cell, on=body.on)
    db.commit()
    return _stay_out(db, number, stay.id or 0)


@router.post("/prisoners/{number}/stays/{stay_id}/close")
def close_stay(number: str, stay_id: int, db: SessionDep, who: Editor,
               body: s.CloseIn) -> s.StayOut:
    prisoner = svc.get_prisoner(db, number)
    svc.close_stay(db, who.actor, prisoner=prisoner, stay=svc.get_stay(db, prisoner, stay_id),
                   ends_on=body.ends_on)
    db.commit()
    return _stay_out(db, number, stay_id)
