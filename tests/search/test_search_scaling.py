"""Shape checks for the p95 targets: the surname search walks an index, and a dossier costs
the same number of queries however long the prisoner's history is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.accounts.models import Account, Attribution
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.evidence.models import EvidenceImage
from app.matching.models import Match
from app.search.criteria import PrisonerSearchCriteria, normalise
from app.search.service import dossier, prisoner_search_statement
from app.takedowns.models import Notice, Takedown
from tests.conftest import TEST_ACTOR
from tests.search.conftest import PURPOSE, World, add_cell, add_image, add_prisoner, add_stay

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind().engine

    def seen(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # transaction upkeep
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def grow(session: Session, w: World, n: int) -> None:
    """n more of everything: stays with cellmates, accounts, images, matches, notices."""
    for i in range(n):
        cell = add_cell(session, w.mdi, f"Z-{i}-001")
        day = f"20{10 + i:02d}-01-01"
        add_stay(session, w.target, cell, day, f"20{10 + i:02d}-06-01")
        mate = add_prisoner(session, f"M{i:04d}ZZ", "Mate", f"N{i}")
        add_stay(session, mate, cell, day, f"20{10 + i:02d}-03-01")
        account = Account(platform="instagram", handle=f"grow{i}")
        session.add(account)
        session.flush()
        session.add(Attribution(account_id=account.id, prisoner_id=w.target.id,
                                basis_kind="manual", basis="b", status="confirmed"))
        images = [add_image(session) for _ in range(3)]
        session.add_all([EvidenceImage(image_id=img.id, account_id=account.id)
                         for img in images])
        session.add(Match(query_image_id=images[0].id, candidate_image_id=images[1].id,
                          method="dhash", distance=5))
        takedown = Takedown(account_id=account.id, platform="instagram", reason="r",
                            author_id=w.user_id, state="awaiting_platform")
        search = CellSearch(establishment_id=w.mdi.id, cell_id=cell.id, reason="r",
                            requested_by=w.user_id)
        session.add_all([takedown, search])
        session.flush()
        session.add_all([Notice(takedown_id=takedown.id, number=k, channel="portal",
                                recipient="x") for k in (1, 2)])
        session.add(CellSearchPrisoner(cell_search_id=search.id, prisoner_id=w.target.id))
    session.flush()


@BOTH
def test_dossier_queries_do_not_grow_with_history(session, world):
    with counted(session) as small:
        dossier(session, TEST_ACTOR, "A1234BC", PURPOSE)
    grow(session, world, 6)
    with counted(session) as large:
        big = dossier(session, TEST_ACTOR, "A1234BC", PURPOSE)
    assert len(big.accounts) == 8 and len(big.takedowns) == 7 and len(big.cell_searches) == 7
    assert len(big.stays) == 9 and len(big.cellmates) == 9
    assert len(large) == len(small) <= 20, large


def _plan(session: Session, criteria: PrisonerSearchCriteria) -> str:
    stmt = prisoner_search_statement(normalise(criteria)).limit(26)
    bind = session.get_bind()
    sql = str(stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        rows = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        return "\n".join(str(r[-1]) for r in rows)
    session.connection().exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = session.connection().exec_driver_sql("EXPLAIN " + sql).all()
    return "\n".join(r[0] for r in rows)


@BOTH
@pytest.mark.parametrize("criteria, index", [
    (PrisonerSearchCriteria(surname="smi", forename="jo"), "ix_prisoner_surname"),
    (PrisonerSearchCriteria(alias="smy"), "ix_prisoner_alias_surname_key"),
])
def test_name_searches_walk_an_index(session, criteria, index):
    plan = _plan(session, criteria)
    assert index in plan, plan
