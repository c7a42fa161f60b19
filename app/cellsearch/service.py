"""Cell searches: requested from a confirmed attribution, acknowledged by the establishment,
completed with what was found.

Services never commit. Every change writes its audit event in the same transaction and moves
`version` on by the one compare-and-set (app.db): of two people acting on the same version, one
wins and the other gets 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Account, Attribution, AttributionStatus
from app.audit.service import Actor, record
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.db import compare_and_set, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.estate.models import Cell, Establishment, Prisoner
from app.estate.queries import occupants_on

REASON_MIN, REASON_MAX = 5, 2000
ITEM_MAX = 999  # per kind, per search: anything above is a typing slip
NOTE_MAX, OTHER_MAX = 2000, 1000


class SearchState(StrEnum):
    requested = "requested"
    acknowledged = "acknowledged"
    completed = "completed"


class Urgency(StrEnum):
    immediate = "immediate"
    urgent = "urgent"
    routine = "routine"


OPEN_STATES = frozenset({SearchState.requested, SearchState.acknowledged})
# action -> (from, to): one step at a time, in this order only.
STEPS: dict[str, tuple[SearchState, SearchState]] = {
    "acknowledge": (SearchState.requested, SearchState.acknowledged),
    "complete": (SearchState.acknowledged, SearchState.completed),
}


@dataclass(frozen=True)
class Items:
    phones: int = 0
    sim_cards: int = 0
    chargers: int = 0
    other_items: int = 0
    other_description: str = ""

    @property
    def total(self) -> int:
        return self.phones + self.sim_cards + self.chargers + self.other_items


@dataclass(frozen=True)
class Outcome:
    items: Items
    searched_at: datetime | None = None  # None: the moment the outcome is recorded
    note: str = ""


@dataclass(frozen=True)
class Candidate:
    prisoner: Prisoner
    attributed: bool  # the attribution's prisoner
    occupant: bool  # in the cell on the request day


@dataclass(frozen=True)
class Proposal:
    """What a request from this attribution would be: the page's form and the service's check."""

    attribution: Attribution
    account: Account
    cell: Cell
    establishment: Establishment
    day: date  # the request day (local): whose occupancy is proposed
    candidates: list[Candidate]
    open_search: CellSearch | None  # an unfinished search of the same cell


def get_search(session: Session, search_id: int) -> CellSearch:
    found = session.get(CellSearch, search_id)
    if found is None:
        raise NotFound(f"There is no cell search {search_id}.")
    return found


def open_search_of_cell(session: Session, cell_id: int) -> CellSearch | None:
    return session.exec(
        select(CellSearch).where(CellSearch.cell_id == cell_id,
                                 col(CellSearch.state).in_([s.value for s in OPEN_STATES]))
        .order_by(col(CellSearch.id))).first()


def propose(session: Session, attribution_id: int, day: date) -> Proposal:
    """The attributed prisoner and whoever occupies the attribution's cell on `day`."""
    attribution = session.get(Attribution, attribution_id)
    if attribution is None:
        raise NotFound(f"There is no attribution {attribution_id}.")
    if attribution.status != AttributionStatus.confirmed.value:
        raise Unprocessable(f"Attribution {attribution_id} is {attribution.status}: a cell "
                            "search can be requested only from a confirmed attribution.")
    cell = session.get(Cell, attribution.cell_id) if attribution.cell_id else None
    if cell is None:
        raise Unprocessable(f"Attribution {attribution_id} names no cell (it was not made from "
                            "a cell match), so there is no cell to search.")
    establishment = session.get(Establishment, cell.establishment_id)
    account = session.get(Account, attribution.account_id)
    attributed = session.get(Prisoner, attribution.prisoner_id)
    assert establishment is not None and account is not None and attributed is not None
    occupants = [p for p, _ in occupants_on(session, cell.id or 0, day)]
    candidates = [Candidate(attributed, True, any(p.id == attributed.id for p in occupants))]
    candidates += [Candidate(p, False, True) for p in occupants if p.id != attributed.id]
    return Proposal(attribution, account, cell, establishment, day, candidates,
                    open_search_of_cell(session, cell.id or 0))


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise Unprocessable(f"Give a reason of {REASON_MIN}-{REASON_MAX} characters for the "
                            "search.")
    return reason


def _urgency(value: str) -> Urgency:
    try:
        return Urgency(value.strip().lower())
    except ValueError:
        raise Unprocessable("Urgency must be immediate, urgent or routine.") from None


def _chosen(proposal: Proposal, prisoner_ids: Sequence[int] | None) -> list[int]:
    offered = [c.prisoner.id or 0 for c in proposal.candidates]
    if prisoner_ids is None:  # nothing said: everyone proposed
        return offered
    chosen = sorted(set(prisoner_ids))
    if not chosen:
        raise Unprocessable("Choose at least one prisoner concerned by the search.")
    if stray := [i for i in chosen if i not in offered]:
        raise Unprocessable(f"{len(stray)} of the chosen prisoners are neither the attributed "
                            f"prisoner nor in {proposal.establishment.code} "
                            f"{proposal.cell.label} on {proposal.day.isoformat()}.")
    return chosen


def request_search(
    session: Session, actor: Actor, *, attribution_id: int, reason: str, urgency: str,
    prisoner_ids: Sequence[int] | None, day: date, now: datetime | None = None,
) -> CellSearch:
    """A new search of the attribution's cell. `day` is the request day in local time (whose
    occupants are offered); `prisoner_ids` None means every prisoner offered."""
    proposal = propose(session, attribution_id, day)
    text, level = _reason(reason), _urgency(urgency)
    chosen = _chosen(proposal, prisoner_ids)
    if (busy := proposal.open_search) is not None:
        raise Conflict(f"Cell search {busy.id} of {proposal.establishment.code} "
                       f"{proposal.cell.label} is still {busy.state}: record its outcome "
                       "before requesting another.")
    search = CellSearch(
        establishment_id=proposal.establishment.id or 0, cell_id=proposal.cell.id or 0,
        attribution_id=attribution_id, account_id=proposal.account.id, reason=text,
        urgency=level.value, requested_by=actor.user_id or 0, requested_at=now or utcnow())
    session.add(search)
    session.flush()
    session.add_all([CellSearchPrisoner(cell_search_id=search.id or 0, prisoner_id=i)
                     for i in chosen])
    session.flush()
    record(session, actor, "cell_search.request", object_type="cell_search",
           object_ids=[search.id or 0], details={
               "establishment": proposal.establishment.code, "cell": proposal.cell.label,
               "attribution_id": attribution_id, "account_id": proposal.account.id,
               "urgency": level.value, "prisoner_ids": chosen})
    return search


def _step(session: Session, actor: Actor, search_id: int, action: str, expected_version: int,
          values: dict[str, Any], details: dict[str, Any]) -> CellSearch:
    """Check the step against what the caller saw, then compare-and-set; the loser gets 409."""
    source, target = STEPS[action]
    search = get_search(session, search_id)
    stale = (f"Someone else changed cell search {search_id} since you opened it (it is now "
             "{state}). Reload the page to see what changed, then try again.")
    if expected_version != search.version:
        raise Conflict(stale.format(state=search.state))
    if search.state != source.value:
        raise Conflict(f"Cell search {search_id} is {search.state}: it cannot be "
                       f"{'acknowledged' if action == 'acknowledge' else 'completed'} now.")
    try:  # every change moves the version, so the version alone says the state is unchanged
        compare_and_set(session, search, expected_version, what="cell search",
                        state=target.value, **values)
    except Conflict:
        session.refresh(search)
        raise Conflict(stale.format(state=search.state)) from None
    record(session, actor, f"cell_search.{action}", object_type="cell_search",
           object_ids=[search_id], details={"from": source.value, "to": target.value,
                                            "version": search.version, **details})
    return search


def acknowledge(session: Session, actor: Actor, search_id: int, *, expected_version: int,
                now: datetime | None = None) -> CellSearch:
    return _step(session, actor, search_id, "acknowledge", expected_version,
                 {"acknowledged_at": now or utcnow()}, {})


def check_outcome(outcome: Outcome, requested_at: datetime, now: datetime) -> None:
    items = outcome.items
    for label, n in (("phones", items.phones), ("SIM cards", items.sim_cards),
                     ("chargers", items.chargers), ("other items", items.other_items)):
        if not 0 <= n <= ITEM_MAX:
            raise Unprocessable(f"The number of {label} must be between 0 and {ITEM_MAX}.")
    description = items.other_description.strip()
    if items.other_items and not description:
        raise Unprocessable("Describe the other items found.")
    if description and not items.other_items:
        raise Unprocessable("Other items are described but their number is 0: give the number.")
    if len(description) > OTHER_MAX or len(outcome.note) > NOTE_MAX:
        raise Unprocessable(f"Keep the description under {OTHER_MAX} characters and the note "
                            f"under {NOTE_MAX}.")
    if outcome.searched_at is not None:
        if outcome.searched_at.tzinfo is None:
            raise Unprocessable("The search time must say its time zone.")
        if outcome.searched_at < requested_at:
            raise Unprocessable("The search cannot have happened before it was requested.")
        if outcome.searched_at > now:
            raise Unprocessable("The search time is in the future.")


def complete(session: Session, actor: Actor, search_id: int, *, expected_version: int,
             outcome: Outcome, now: datetime | None = None) -> CellSearch:
    """Record what was found. `searched_at` defaults to now."""
    now = now or utcnow()
    search = get_search(session, search_id)
    check_outcome(outcome, search.requested_at, now)
    items = outcome.items
    searched_at = outcome.searched_at or now
    values = {"completed_at": now, "searched_at": searched_at, "phones": items.phones,
              "sim_cards": items.sim_cards, "chargers": items.chargers,
              "other_items": items.other_items,
              "other_description": items.other_description.strip(),
              "outcome_note": outcome.note.strip()}
    details = {"items": items.total, "phones": items.phones, "sim_cards": items.sim_cards,
               "chargers": items.chargers, "other_items": items.other_items,
               "searched_at": searched_at.isoformat()}
    return _step(session, actor, search_id, "complete", expected_version, values, details)
