"""The prisoner search (by prison number, name or alias) and the dossier. Every read is
audited in the caller's transaction; nothing here commits (the request's unit of work does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import NotFound
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from app.search import history, holdings
from app.search.criteria import (
    LIKE_ESCAPE,
    PRISON_NUMBER_RE,
    Criteria,
    PrisonerSearchCriteria,
    check_purpose,
    like_escape,
    mask_dob,
    normalise,
    prefix_successor,
)
from app.search.records import Dossier, Place, PrisonerRow, PrisonerSearchResult

RESULT_LIMIT = 25
REFINE_HINT = (f"More than {RESULT_LIMIT} prisoners match; only the first {RESULT_LIMIT} are "
               "shown. Refine your search: add a forename or a date of birth, or type more of "
               "the name.")
_FLAGS = (("category_a", "Category A"), ("organised_crime_nominal", "Organised crime nominal"),
          ("victim_contact_restriction", "Victim contact restriction"))


def search_prisoners(
    session: Session, actor: Actor, criteria: PrisonerSearchCriteria, *, today: date | None = None
) -> PrisonerSearchResult:
    """At most RESULT_LIMIT prisoners, by name; `more` says a narrower search is needed."""
    checked = normalise(criteria)
    found = session.exec(prisoner_search_statement(checked).limit(RESULT_LIMIT + 1)).all()
    shown = found[:RESULT_LIMIT]
    current = _current_places(session, [p.id or 0 for p in shown], today or utcnow().date())
    more = len(found) > RESULT_LIMIT
    record(session, actor, "prisoner.search", object_type="prisoner",
           object_ids=[p.id or 0 for p in shown],
           details={**checked.details(), "shown": len(shown), "more": more})
    rows = [PrisonerRow(p.prison_number, p.surname, p.forenames, mask_dob(p.date_of_birth),
                        current.get(p.id or 0)) for p in shown]
    return PrisonerSearchResult(checked, rows, more, REFINE_HINT if more else "")


def _prefix(column: ColumnElement[str], prefix: str) -> list[ColumnElement[bool]]:
    """Starts-with as an index range (code-point order) plus an escaped LIKE that is exact
    whatever the collation: `%` and `_` typed by the analyst match only themselves."""
    where = [column >= prefix, column.like(like_escape(prefix) + "%", escape=LIKE_ESCAPE)]
    if (upper := prefix_successor(prefix)) is not None:
        where.append(column < upper)
    return where


def _word_start(column: ColumnElement[str], words: str) -> ColumnElement[bool]:
    """Forenames are matched from the start of any forename: 'paul' finds 'John Paul'."""
    escaped = like_escape(words)
    return or_(column.like(escaped + "%", escape=LIKE_ESCAPE),
               column.like("% " + escaped + "%", escape=LIKE_ESCAPE))


def prisoner_search_statement(c: Criteria) -> SelectOfScalar[Prisoner]:
    query = select(Prisoner)
    if c.prison_number:
        query = query.where(Prisoner.prison_number == c.prison_number)
    elif c.surname:
        query = query.where(*_prefix(col(Prisoner.surname_key), c.surname))
        if c.forename:
            query = query.where(_word_start(col(Prisoner.forenames_key), c.forename))
    else:
        alias = select(PrisonerAlias.prisoner_id).where(
            *_prefix(col(PrisonerAlias.surname_key), c.alias))
        if c.forename:
            alias = alias.where(_word_start(col(PrisonerAlias.forenames_key), c.forename))
        query = query.where(col(Prisoner.id).in_(alias))
    if c.dob:
        query = query.where(Prisoner.date_of_birth == c.dob)
    return query.order_by(col(Prisoner.surname_key), col(Prisoner.forenames_key),
                          col(Prisoner.prison_number))


def _current_places(session: Session, prisoner_ids: Sequence[int], today: date
                    ) -> dict[int, Place]:
    """Where each prisoner is today; on a move day, the cell they moved into."""
    if not prisoner_ids:
        return {}
    rows = session.exec(
        select(Occupancy.prisoner_id, Cell, Establishment)
        .join(Cell, col(Cell.id) == Occupancy.cell_id)
        .join(Establishment, col(Establishment.id) == Cell.establishment_id)
        .where(col(Occupancy.prisoner_id).in_(prisoner_ids), col(Occupancy.starts_on) <= today,
               or_(col(Occupancy.ends_on).is_(None), col(Occupancy.ends_on) >= today))
        .order_by(col(Occupancy.starts_on))
    ).all()
    return {pid: history.place(cell, est) for pid, cell, est in rows}  # the latest wins


def checked_number(prison_number: str) -> str:
    """The prison number in canonical form; a malformed one names no prisoner (404)."""
    number = prison_number.strip().upper()
    if not PRISON_NUMBER_RE.match(number):
        raise NotFound(f"There is no prisoner with prison number {number[:16]!r}.")
    return number


def _prisoner(session: Session, prison_number: str) -> Prisoner:
    number = checked_number(prison_number)
    found = session.exec(select(Prisoner).where(Prisoner.prison_number == number)).first()
    if found is None:
        raise NotFound(f"There is no prisoner with prison number {number!r}.")
    return found


def dossier(
    session: Session, actor: Actor, prison_number: str, purpose: str, *, today: date | None = None
) -> Dossier:
    """Everything held on one prisoner, read for a stated purpose (422 without one)."""
    purpose = check_purpose(purpose)
    prisoner = _prisoner(session, prison_number)
    pid = prisoner.id or 0
    mates, truncated = history.cellmates(session, pid)
    accounts = holdings.attributed_accounts(session, pid)
    record(session, actor, "prisoner.dossier", object_type="prisoner", object_ids=[pid],
           purpose=purpose, details={"prison_number": prisoner.prison_number})
    return Dossier(
        prison_number=prisoner.prison_number, surname=prisoner.surname,
        forenames=prisoner.forenames, date_of_birth=mask_dob(prisoner.date_of_birth),
        flags=[label for name, label in _FLAGS if getattr(prisoner, name)], purpose=purpose,
        aliases=history.aliases(session, pid),
        stays=history.stays(session, pid, today or utcnow().date()),
        cellmates=mates, cellmates_truncated=truncated, accounts=accounts,
        takedowns=holdings.takedowns(session, accounts),
        cell_searches=history.cell_searches(session, pid),
    )


def reveal_dob(session: Session, actor: Actor, prison_number: str, purpose: str) -> date:
    """The full date of birth, for a stated purpose; the reveal is audited on its own."""
    purpose = check_purpose(purpose)
    prisoner = _prisoner(session, prison_number)
    record(session, actor, "prisoner.reveal_dob", object_type="prisoner",
           object_ids=[prisoner.id or 0], purpose=purpose,
           details={"prison_number": prisoner.prison_number})
    return prisoner.date_of_birth
