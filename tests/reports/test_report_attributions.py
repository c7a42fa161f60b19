"""An account attributed to a prisoner is one attribution in the report, however many
confirmed rows say so (two matches, two bases, rows kept from before suggestions were
made once per account)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from app.accounts.models import Account, Attribution
from app.estate.models import Cell, Prisoner
from tests.reports.conftest import t

HEADER = ["establishment_code", "establishment", "accounts", "images_taken_in",
          "videos_taken_in", "confirmed_attributions", "searches_requested",
          "searches_completed", "phones", "sim_cards", "chargers", "other_items", "items_found"]


def _attributions(client, **period) -> dict[str, str]:
    r = client.get("/reports/establishments.csv", params=period)
    assert r.status_code == 200, r.text
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == HEADER
    return {row[0]: row[HEADER.index("confirmed_attributions")] for row in table[1:]}


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_an_account_prisoner_attribution_counts_once(as_role, data, session):
    client, _ = as_role("auditor")
    before = _attributions(client)
    assert before == {"LEI": "1", "MDI": "2", "": "1"}  # the fixture's figures
    smith = session.exec(select(Prisoner).where(Prisoner.prison_number == "A1234BC")).one()
    account = session.exec(select(Account).where(Account.handle == "cellking0")).one()
    cell = session.exec(select(Cell).where(Cell.label == "A-1-001")).one()
    # the same account and prisoner confirmed twice more: by another cell match, by hand
    session.add_all([
        Attribution(account_id=account.id, prisoner_id=smith.id, status="confirmed",
                    basis_kind="cell_match", basis="second match", cell_id=cell.id,
                    decided_at=t("2025-01-10 12:00")),
        Attribution(account_id=account.id, prisoner_id=smith.id, status="confirmed",
                    basis_kind="manual", basis="by hand", decided_at=t("2025-02-10 12:00")),
    ])
    session.commit()
    assert _attributions(client) == before
    # counted when it was first confirmed (6 January), not again in February
    assert _attributions(client, start="2025-01-01", end="2025-01-31")["MDI"] == "2"
    assert _attributions(client, start="2025-02-05", end="2025-02-28").get("MDI", "0") == "0"
