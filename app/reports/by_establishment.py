"""Per establishment, over the period:

- accounts: suspect accounts created, by Account.establishment_id
- images, videos: evidence taken in from accounts there, each its own figure (evidence.py:
  a video's frames are not counted among the images)
- attributions: account-prisoner pairs confirmed, each once: at its first confirmation
  (decided_at, or created_at when confirmed at once), at the establishment of that
  attribution's cell, else of the account
- searches: cell searches requested; completed: those of them with an outcome recorded
- finds: items found by those searches (phones + SIM cards + chargers + other items)

Establishments with nothing in the period are left out; accounts, evidence and attributions
that have no establishment yet are counted on a last row without a code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app.accounts.models import Account, Attribution, AttributionStatus
from app.cellsearch.models import CellSearch
from app.estate.models import Cell, Establishment
from app.reports.evidence import images_taken_in, videos_taken_in
from app.reports.period import Period
from app.reports.sql import in_period

NO_ESTABLISHMENT = "No establishment yet"


@dataclass(frozen=True)
class EstablishmentRow:
    code: str  # "" for the row of accounts with no establishment yet
    name: str
    accounts: int = 0
    attributions: int = 0
    searches: int = 0
    completed: int = 0
    phones: int = 0
    sim_cards: int = 0
    chargers: int = 0
    other_items: int = 0
    images: int = 0
    videos: int = 0

    @property
    def finds(self) -> int:
        return self.phones + self.sim_cards + self.chargers + self.other_items


def _accounts(session: Session, period: Period) -> dict[int | None, int]:
    rows = session.exec(
        select(Account.establishment_id, func.count())
        .where(*in_period(col(Account.created_at), period))
        .group_by(col(Account.establishment_id))).all()
    return {est: int(n) for est, n in rows}


def _attributions(session: Session, period: Period) -> dict[int | None, int]:
    """Account-prisoner attributions, each counted once: when and where it was first
    confirmed (an account attributed to a prisoner on two bases, or by two matches, is one
    attribution)."""
    where = func.coalesce(col(Cell.establishment_id), col(Account.establishment_id))
    decided = func.coalesce(col(Attribution.decided_at), col(Attribution.created_at))
    first = func.row_number().over(
        partition_by=(col(Attribution.account_id), col(Attribution.prisoner_id)),
        order_by=(decided, col(Attribution.id)))
    confirmed = (
        select(where.label("establishment_id"), decided.label("decided"), first.label("nth"))
        .select_from(Attribution)
        .join(Account, col(Account.id) == Attribution.account_id)
        .join(Cell, col(Cell.id) == Attribution.cell_id, isouter=True)
        .where(Attribution.status == AttributionStatus.confirmed.value)).subquery()
    rows = session.exec(
        select(confirmed.c.establishment_id, func.count())
        .where(confirmed.c.nth == 1, *in_period(confirmed.c.decided, period))
        .group_by(confirmed.c.establishment_id)).all()
    return {est: int(n) for est, n in rows}


def _searches(session: Session, period: Period) -> dict[int, tuple[int, ...]]:
    s = CellSearch
    rows = session.exec(
        select(s.establishment_id, func.count(),
               func.sum(case((col(s.state) == "completed", 1), else_=0)),
               func.sum(s.phones), func.sum(s.sim_cards), func.sum(s.chargers),
               func.sum(s.other_items))
        .where(*in_period(col(s.requested_at), period))
        .group_by(col(s.establishment_id))).all()
    return {est: tuple(int(n or 0) for n in counts) for est, *counts in rows}


def establishment_rows(session: Session, period: Period) -> list[EstablishmentRow]:
    accounts, attributions = _accounts(session, period), _attributions(session, period)
    searches = _searches(session, period)
    images, videos = images_taken_in(session, period), videos_taken_in(session, period)
    ids = {i for i in (*accounts, *attributions, *searches, *images, *videos) if i is not None}
    named = {e.id: e for e in session.exec(
        select(Establishment).where(col(Establishment.id).in_(ids))).all()} if ids else {}
    rows = [
        EstablishmentRow(named[i].code, named[i].name, accounts.get(i, 0),
                         attributions.get(i, 0), *searches.get(i, ()),
                         images=images.get(i, 0), videos=videos.get(i, 0))
        for i in ids]
    rows.sort(key=lambda r: r.code)
    if accounts.get(None) or attributions.get(None) or images.get(None) or videos.get(None):
        rows.append(EstablishmentRow("", NO_ESTABLISHMENT, accounts.get(None, 0),
                                     attributions.get(None, 0), images=images.get(None, 0),
                                     videos=videos.get(None, 0)))
    return rows
