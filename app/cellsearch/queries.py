"""Reads of cell searches for the pages and the API. Nothing here writes; the routes audit the
prisoners they show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.auth.models import User
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.cellsearch.service import Items, SearchState, get_search
from app.errors import Unprocessable
from app.estate.models import Cell, Establishment, Prisoner


@dataclass(frozen=True)
class SearchRow:
    search: CellSearch
    establishment: Establishment
    cell: Cell

    @property
    def items(self) -> Items:
        return items_of(self.search)

    @property
    def time_to_search(self) -> timedelta | None:
        return time_to_search(self.search)


@dataclass(frozen=True)
class SearchDetail(SearchRow):
    account: Account | None
    requested_by: str
    prisoners: list[Prisoner]


def items_of(search: CellSearch) -> Items:
    return Items(search.phones, search.sim_cards, search.chargers, search.other_items,
                 search.other_description)


def time_to_search(search: CellSearch) -> timedelta | None:
    """From the request to the search itself (not to when the outcome was typed in)."""
    return None if search.searched_at is None else search.searched_at - search.requested_at


def list_searches(
    session: Session, *, establishment_code: str = "", state: str = "", offset: int = 0,
    limit: int = 50,
) -> tuple[list[SearchRow], int]:
    """Newest request first, optionally one establishment and one state; and the total."""
    where = []
    if establishment_code.strip():
        where.append(Establishment.code == establishment_code.strip().upper())
    if state.strip():
        try:
            where.append(CellSearch.state == SearchState(state.strip()).value)
        except ValueError:
            raise Unprocessable("State must be requested, acknowledged or completed.") from None
    base = (select(CellSearch, Establishment, Cell)
            .join(Establishment, col(Establishment.id) == CellSearch.establishment_id)
            .join(Cell, col(Cell.id) == CellSearch.cell_id).where(*where))
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = session.exec(base.order_by(col(CellSearch.requested_at).desc(),
                                      col(CellSearch.id).desc()).offset(offset).limit(limit)).all()
    return [SearchRow(s, e, c) for s, e, c in rows], int(total)


def establishments_with_searches(session: Session) -> list[Establishment]:
    """For the filter: only establishments that have had a search."""
    ids = select(CellSearch.establishment_id).distinct()
    return list(session.exec(select(Establishment).where(col(Establishment.id).in_(ids))
                             .order_by(col(Establishment.code))).all())


def prisoners_of(session: Session, search_id: int) -> list[Prisoner]:
    return list(session.exec(
        select(Prisoner).join(CellSearchPrisoner,
                              col(CellSearchPrisoner.prisoner_id) == Prisoner.id)
        .where(CellSearchPrisoner.cell_search_id == search_id)
        .order_by(col(Prisoner.prison_number))).all())


def detail(session: Session, search_id: int) -> SearchDetail:
    search = get_search(session, search_id)
    establishment = session.get(Establishment, search.establishment_id)
    cell = session.get(Cell, search.cell_id)
    assert establishment is not None and cell is not None
    account = session.get(Account, search.account_id) if search.account_id else None
    user = session.get(User, search.requested_by)
    return SearchDetail(search, establishment, cell, account, user.username if user else "",
                        prisoners_of(session, search_id))


def searches_of_account(session: Session, account_id: int) -> list[CellSearch]:
    """Newest first: the account page's panel."""
    return list(session.exec(select(CellSearch).where(CellSearch.account_id == account_id)
                             .order_by(col(CellSearch.requested_at).desc())).all())
