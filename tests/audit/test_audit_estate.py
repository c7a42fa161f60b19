"""The estate's changes through the API, and the pages' prisoner form, a cell's "receive a
prisoner" form and the cell library's upload, leave their audit rows (the estate pages' other
changes: test_audit_coverage.py)."""

from __future__ import annotations

from sqlmodel import col, select

from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import Row, Walk, one
from tests.matching import scenes

DATES = {"surname": "Evans", "forenames": "Ed", "date_of_birth": "1985-05-05"}
HMP_CELL = {"establishment_code": "HMP", "cell_label": "A-1-001"}

CHANGES = [
    Row("supervisor", "POST", "/api/v1/estate/establishments", "estate.establishment.create",
        "establishment", one("new_establishment"), json={"code": "HMP", "name": "Highpoint"},
        status=(201,)),
    Row("supervisor", "PUT", "/api/v1/estate/establishments/HMP", "estate.establishment.update",
        "establishment", one("new_establishment"), json={"name": "Highpoint (renamed)"}),
    Row("supervisor", "POST", "/api/v1/estate/establishments/HMP/cells", "estate.cell.create",
        "cell", one("hmp_cell"), json={"label": "A-1-001", "capacity": 2}, status=(201,)),
    Row("supervisor", "PUT", "/api/v1/estate/establishments/HMP/cells/A-1-001",
        "estate.cell.update", "cell", one("hmp_cell"), json={"capacity": 3}),
    Row("supervisor", "POST", "/estate/prisoners", "estate.prisoner.create", "prisoner",
        one("evans"), form={"prison_number": "E5555EE", **DATES}),
    Row("supervisor", "PUT", "/api/v1/estate/prisoners/E5555EE", "estate.prisoner.update",
        "prisoner", one("evans"), json={**DATES, "forenames": "Edward"}),
    Row("supervisor", "POST", "/api/v1/estate/prisoners/E5555EE/stays",
        "estate.occupancy.create", "occupancy", one("new_stay"),
        json={**HMP_CELL, "starts_on": "2024-01-01", "ends_on": "2024-06-01"}, status=(201,)),
    Row("supervisor", "POST", "/api/v1/estate/prisoners/E5555EE/move", "estate.occupancy.move",
        "occupancy", one("new_stay"), json={**HMP_CELL, "on": "2025-01-01"}, status=(201,)),
    Row("supervisor", "POST", "/api/v1/estate/prisoners/E5555EE/stays/{evans_stay}/close",
        "estate.occupancy.close", "occupancy", one("evans_stay"),
        json={"ends_on": "2025-06-01"}),
    # the new stay, and the one it ends
    Row("supervisor", "POST", "/estate/HMP/cells/A-1-001/occupants", "estate.occupancy.move",
        "occupancy", lambda w: [w["new_stay"], w["adams_stay"]],
        form={"prison_number": "A1111AA", "on": "2025-07-01"}),
    Row("supervisor", "POST", "/estate/cells/{cell}/photos", "library.photo.added",
        "reference_photo", one("newest_photo"),
        files=(("library.jpg", scenes.jpeg(scenes.room(77))),), form={"taken_on": ""}),
]


def _late(walk: Walk) -> None:
    session, world = walk.session, walk.world
    world["hmp_cell"] = session.exec(select(Cell.id).join(
        Establishment, col(Establishment.id) == col(Cell.establishment_id)).where(
        Establishment.code == "HMP", Cell.label == "A-1-001")).first()
    world["evans"] = session.exec(select(Prisoner.id).where(
        Prisoner.prison_number == "E5555EE")).first()
    world.setdefault("adams_stay", session.exec(select(Occupancy.id).where(
        Occupancy.prisoner_id == world["adams"], col(Occupancy.ends_on).is_(None))).one())
    if world["evans"] is not None and world.get("evans_stay") is None:
        world["evans_stay"] = session.exec(select(Occupancy.id).where(
            Occupancy.prisoner_id == world["evans"], col(Occupancy.ends_on).is_(None))).first()


def test_estate_changes_leave_their_audit_rows(client, make_user, estate,  # noqa: F811
                                               session):
    problems = Walk(client, make_user, estate, session, late=_late).run(CHANGES)
    assert problems == [], "\n".join(problems)
    # the changes were made, not only recorded: Adams is in HMP A-1-001 from 2025-07-01
    session.expire_all()
    adams = session.exec(select(Occupancy).where(
        Occupancy.prisoner_id == estate["adams"].id, col(Occupancy.ends_on).is_(None))).one()
    assert (adams.cell_id, str(adams.starts_on)) == (session.exec(select(Cell.id).where(
        Cell.label == "A-1-001")).one(), "2025-07-01")
