"""Apply a checked plan with bulk statements: a few executemany calls per table, no per-row
queries. Runs inside the caller's transaction and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlmodel import Session
from tqdm import tqdm

from app.db import utcnow
from app.estate.importing.plan import ALIAS, CELL, EST, OCC, PRIS, PRISONER_FIELDS, Plan

CHUNK = 5000


class _Writer:
    def __init__(self, session: Session, bar: tqdm) -> None:  # type: ignore[type-arg]
        self.session, self.bar, self.now = session, bar, utcnow()

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            self.session.connection().execute(insert(table), list(chunk))
            self.bar.update(len(chunk))

    def update(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = [k for k in rows[0] if k != "_id"]
        stmt = (update(table).where(table.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns}))
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            # executemany through the connection: a bulk UPDATE by primary key
            self.session.connection().execute(stmt, list(chunk))
            self.bar.update(len(chunk))


def rows_to_write(p: Plan) -> int:
    return sum(len(c.create) + len(c.update)
               for c in (p.establishments, p.cells, p.prisoners, p.stays, p.aliases))


def apply(session: Session, p: Plan, *, progress: bool) -> None:
    with tqdm(total=rows_to_write(p), desc="writing", unit=" rows", disable=not progress,
              leave=False) as bar:
        w = _Writer(session, bar)
        now = w.now
        w.insert(EST, [{"code": e.code, "name": e.name, "category": e.category,
                        "region": e.region, "updated_at": now} for e in p.establishments.create])
        w.update(EST, [{"_id": i, "name": e.name, "category": e.category, "region": e.region,
                        "updated_at": now} for i, e in p.establishments.update])
        est_ids = dict(session.execute(select(EST.c.code, EST.c.id)).all())

        w.insert(CELL, [{"establishment_id": est_ids[c.establishment_code], "label": c.label,
                         "wing": c.wing, "landing": c.landing, "capacity": c.capacity,
                         "updated_at": now} for c in p.cells.create])
        w.update(CELL, [{"_id": i, "capacity": c.capacity, "updated_at": now}
                        for i, c in p.cells.update])
        cell_ids = {(code, label): cid for cid, code, label in session.execute(
            select(CELL.c.id, EST.c.code, CELL.c.label)
            .join(EST, EST.c.id == CELL.c.establishment_id))}

        w.insert(PRIS, [{"prison_number": r.prison_number, "updated_at": now,
                         **{f: getattr(r, f) for f in PRISONER_FIELDS}}
                        for r in p.prisoners.create])
        w.update(PRIS, [{"_id": i, "updated_at": now, **{f: getattr(r, f)
                                                         for f in PRISONER_FIELDS}}
                        for i, r in p.prisoners.update])
        pris_ids = dict(session.execute(select(PRIS.c.prison_number, PRIS.c.id)).all())

        w.insert(OCC, [{"prisoner_id": pris_ids[s.prison_number],
                        "cell_id": cell_ids[(s.establishment_code, s.cell_label)],
                        "starts_on": s.starts_on, "ends_on": s.ends_on, "updated_at": now}
                       for s in p.stays.create])
        w.update(OCC, [{"_id": i, "cell_id": cell_ids[(s.establishment_code, s.cell_label)],
                        "ends_on": s.ends_on, "updated_at": now} for i, s in p.stays.update])

        w.insert(ALIAS, [{"prisoner_id": pris_ids[a.prison_number], "surname": a.surname,
                          "forenames": a.forenames, "surname_key": a.surname_key,
                          "forenames_key": a.forenames_key} for a in p.aliases.create])
        w.update(ALIAS, [{"_id": i, "surname": a.surname, "forenames": a.forenames}
                         for i, a in p.aliases.update])
    session.expire_all()  # objects loaded before the import must not show stale values
