"""One cell, who is in it, and attributions to request a search from; rows inserted directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from app.accounts.models import Account, Attribution
from app.auth.models import User
from app.estate.models import Cell, Establishment, Prisoner
from app.web.dates import local_today
from tests.browser.conftest import (  # noqa: F401  (fixtures, by name)
    chromium_path,
    live_server,
    migrated_template,
)
from tests.search.conftest import add_cell, add_prisoner, add_stay

TZ = "Europe/London"


@dataclass
class Cells:
    user: User
    mdi: Establishment
    cell: Cell  # MDI A-1-014
    target: Prisoner  # attributed; in the cell since last year
    mate: Prisoner  # in the cell now
    former: Prisoner  # left the cell last month
    elsewhere: Prisoner  # never in the cell
    account: Account
    confirmed: Attribution  # from a cell match: has the cell
    suggested: Attribution
    manual: Attribution  # confirmed, but no cell


def build_cells(session: Session, user: User, today: date) -> Cells:
    mdi = Establishment(code="MDI", name="HMP Moorland", category="C")
    session.add(mdi)
    session.flush()
    cell, other = add_cell(session, mdi, "A-1-014"), add_cell(session, mdi, "B-1-001")
    target = add_prisoner(session, "A1234BC", "Smith", "John")
    mate = add_prisoner(session, "B2345CD", "Jones", "Mark")
    former = add_prisoner(session, "C3456DE", "Brown", "Ali")
    elsewhere = add_prisoner(session, "D4567EF", "White", "Sam")
    year_ago, month_ago = (today - timedelta(days=365)).isoformat(), \
        (today - timedelta(days=30)).isoformat()
    add_stay(session, target, cell, year_ago)
    add_stay(session, mate, cell, month_ago)
    add_stay(session, former, cell, year_ago, (today - timedelta(days=31)).isoformat())
    add_stay(session, elsewhere, other, year_ago)
    account = Account(platform="instagram", handle="cellking", status="attributed",
                      establishment_id=mdi.id)
    session.add(account)
    session.flush()
    confirmed = Attribution(account_id=account.id, prisoner_id=target.id, status="confirmed",
                            basis_kind="cell_match", basis="MDI A-1-014 from a cell match",
                            cell_id=cell.id, decided_by=user.id)
    suggested = Attribution(account_id=account.id, prisoner_id=mate.id, status="suggested",
                            basis_kind="manual", basis="same nickname", cell_id=cell.id)
    manual = Attribution(account_id=account.id, prisoner_id=elsewhere.id, status="confirmed",
                         basis_kind="manual", basis="admitted it", reason="interview")
    session.add_all([confirmed, suggested, manual])
    session.flush()
    return Cells(user, mdi, cell, target, mate, former, elsewhere, account, confirmed,
                 suggested, manual)


@pytest.fixture
def cells(session: Session, make_user) -> Cells:
    built = build_cells(session, make_user("analyst"), local_today(TZ))
    session.commit()
    return built
