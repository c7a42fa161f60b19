"""An estate with one cell and its occupancy history, and helpers to take in accounts."""

from __future__ import annotations

from datetime import date

import pytest

from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from tests.conftest import page_csrf
from tests.matching import scenes


def prisoner(session, number, surname, **flags):
    row = Prisoner(prison_number=number, surname=surname, forenames="Test",
                   surname_key=surname.lower(), forenames_key="test",
                   date_of_birth=date(1990, 1, 1), **flags)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def estate(session):
    """Cell A-1-014 at MDI: ADAMS until 2025-03-10 (moved out that day), BAKER from
    2025-03-10 (moved in that day, still there), COLE 2025-01-01 to 2025-02-01."""
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    cell = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1", capacity=2)
    other = Cell(establishment_id=est.id, label="B-2-001", wing="B", landing="2")
    session.add_all([cell, other])
    session.flush()
    adams = prisoner(session, "A1111AA", "Adams", victim_contact_restriction=True)
    baker = prisoner(session, "B2222BB", "Baker")
    cole = prisoner(session, "C3333CC", "Cole")
    session.add_all([
        Occupancy(prisoner_id=adams.id, cell_id=cell.id, starts_on=date(2024, 6, 1),
                  ends_on=date(2025, 3, 10)),
        Occupancy(prisoner_id=adams.id, cell_id=other.id, starts_on=date(2025, 3, 10)),
        Occupancy(prisoner_id=baker.id, cell_id=cell.id, starts_on=date(2025, 3, 10)),
        Occupancy(prisoner_id=cole.id, cell_id=cell.id, starts_on=date(2025, 1, 1),
                  ends_on=date(2025, 2, 1)),
    ])
    session.commit()
    return {"establishment": est, "cell": cell, "adams": adams, "baker": baker, "cole": cole}


def upload_reference(client, cell, data):
    r = client.post(f"/api/v1/cells/{cell.id}/photos",
                    files=[("files", ("ref.jpg", data, "image/jpeg"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code in (200, 201), r.text


def submit(client, account, photos=(), platform="", posted_at=None, key=None, post_url=None):
    data = {"account": account, "platform": platform}
    if posted_at:
        data["posted_at"] = posted_at
    if post_url:
        data["post_url"] = post_url
    headers = {"X-CSRF-Token": page_csrf(client)}
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/accounts", data=data, headers=headers,
                       files=[("files", (f"p{i}.jpg", d, "image/jpeg"))
                              for i, d in enumerate(photos)] or None)


def scene_photos(seed):
    rgb = scenes.room(seed)
    return scenes.jpeg(rgb), scenes.repost(rgb)
