"""A small estate with one well-documented prisoner, built by inserting rows directly."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from app.accounts.models import Account, Attribution
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from app.estate.validation import name_key
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.models import Match
from app.takedowns.models import Notice, Takedown

_seq = itertools.count(1)
PURPOSE = "Investigation 2026/117: Instagram account linked to cell"


def at(day: str, hour: int = 12) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=hour)


def d(day: str) -> date:
    return date.fromisoformat(day)


def add_prisoner(session: Session, number: str, surname: str, forenames: str,
                 dob: str = "1990-03-14", **flags: bool) -> Prisoner:
    p = Prisoner(prison_number=number, surname=surname, forenames=forenames,
                 surname_key=name_key(surname)[:64], forenames_key=name_key(forenames)[:128],
                 date_of_birth=d(dob), **flags)
    session.add(p)
    session.flush()
    return p


def add_stay(session: Session, prisoner: Prisoner, cell: Cell, start: str,
             end: str | None = None) -> Occupancy:
    o = Occupancy(prisoner_id=prisoner.id, cell_id=cell.id, starts_on=d(start),
                  ends_on=d(end) if end else None)
    session.add(o)
    session.flush()
    return o


def add_image(session: Session, erased: bool = False) -> Image:
    n = next(_seq)
    img = Image(sha256=f"{n:064x}", format="jpeg", byte_size=1000, width=640, height=480,
                storage_key=f"key-{n:08d}", wrapped_key=b"wrapped", phash=n, phash_mirror=n,
                phash_trim=n, dhash=n, erased_at=at("2026-01-01") if erased else None)
    session.add(img)
    session.flush()
    return img


def add_cell(session: Session, est: Establishment, label: str) -> Cell:
    wing, landing, _ = label.split("-")
    cell = Cell(establishment_id=est.id, label=label, wing=wing, landing=landing, capacity=2)
    session.add(cell)
    session.flush()
    return cell


@dataclass
class World:
    user_id: int
    target: Prisoner
    mdi: Establishment
    a1: Cell  # MDI A-1-014: target 2024-01-01..2024-05-31
    b2: Cell  # MDI B-2-003: target 2024-06-01.. (current)
    h1: Cell  # LEI H-1-001: target 2023-01-01..2023-12-31
    account: Account  # confirmed
    suggested: Account
    rejected: Account
    evidence_image: Image
    erased_image: Image
    takedown: Takedown
    cell_search: CellSearch


def build_world(session: Session, user_id: int) -> World:
    mdi = Establishment(code="MDI", name="HMP Moorland", category="C", region="Yorkshire")
    lei = Establishment(code="LEI", name="HMP Leicester", category="B")
    session.add_all([mdi, lei])
    session.flush()
    a1, b2, h1 = add_cell(session, mdi, "A-1-014"), add_cell(session, mdi, "B-2-003"), \
        add_cell(session, lei, "H-1-001")
    target = add_prisoner(session, "A1234BC", "Smith", "John Paul", "1990-03-14",
                          organised_crime_nominal=True)
    session.add(PrisonerAlias(prisoner_id=target.id, surname="Smythe", forenames="Jack",
                              surname_key="smythe", forenames_key="jack"))
    add_stay(session, target, h1, "2023-01-01", "2023-12-31")
    add_stay(session, target, a1, "2024-01-01", "2024-05-31")
    add_stay(session, target, b2, "2024-06-01")
    jones = add_prisoner(session, "B2345CD", "Jones", "Mark", "1988-01-02")
    add_stay(session, jones, a1, "2023-11-01", "2024-03-01")  # overlap 2024-01-01..03-01
    brown = add_prisoner(session, "C3456DE", "Brown", "Ali", "1995-07-07")
    add_stay(session, brown, b2, "2025-02-01")  # still together: overlap 2025-02-01..now
    white = add_prisoner(session, "D4567EF", "White", "Sam", "1985-05-05")
    add_stay(session, white, a1, "2024-06-01", "2024-12-01")  # after target left: no overlap
    green = add_prisoner(session, "E5678FG", "Green", "Tom", "1992-02-02")
    add_stay(session, green, a1, "2024-05-31", "2024-08-01")  # shares the move day only

    account = Account(platform="instagram", handle="cellking", status="removed")
    suggested = Account(platform="tiktok", handle="smithy_a1", status="under_review")
    rejected = Account(platform="x", handle="notsmith", status="new")
    session.add_all([account, suggested, rejected])
    session.flush()
    session.add_all([
        Attribution(account_id=account.id, prisoner_id=target.id, status="confirmed",
                    basis_kind="cell_match", basis="MDI A-1-014, stay from 2024-01-01",
                    cell_id=a1.id, photo_time=at("2024-03-01"), time_source="post",
                    decided_by=user_id, decided_at=at("2024-03-02")),
        Attribution(account_id=suggested.id, prisoner_id=target.id, status="suggested",
                    basis_kind="manual", basis="Same nickname", reason="nickname"),
        Attribution(account_id=rejected.id, prisoner_id=target.id, status="rejected",
                    basis_kind="manual", basis="Wrong man", reason="guess"),
    ])
    image, erased, reference = add_image(session), add_image(session, erased=True), \
        add_image(session)
    session.add_all([
        EvidenceImage(image_id=image.id, account_id=account.id, posted_at=at("2024-03-01"),
                      post_url="https://instagram.com/p/abc"),
        EvidenceImage(image_id=erased.id, account_id=account.id),
        ReferencePhoto(image_id=reference.id, cell_id=a1.id),
    ])
    session.add(Match(query_image_id=image.id, candidate_image_id=reference.id, method="phash",
                      distance=3, status="confirmed"))
    takedown = Takedown(account_id=account.id, platform="instagram", state="removed",
                        reason="Posting from a cell", author_id=user_id, approver_id=user_id,
                        notices_sent=2, first_sent_at=at("2024-03-03", 9),
                        resolved_at=at("2024-03-04", 10), platform_reference="IG-99")
    session.add(takedown)
    search = CellSearch(establishment_id=mdi.id, cell_id=a1.id, reason="Phone in photo",
                        urgency="urgent", state="completed", requested_by=user_id,
                        requested_at=at("2024-03-02"), searched_at=at("2024-03-02", 15),
                        phones=2, sim_cards=1, outcome_note="Two phones under the bed")
    session.add(search)
    session.flush()
    session.add_all([
        Notice(takedown_id=takedown.id, number=1, channel="portal", recipient="ig",
               delivery="delivered", sent_at=at("2024-03-03", 9)),
        Notice(takedown_id=takedown.id, number=2, channel="portal", recipient="ig",
               delivery="delivered", sent_at=at("2024-03-04", 9)),
        CellSearchPrisoner(cell_search_id=search.id, prisoner_id=target.id),
    ])
    session.flush()
    return World(user_id, target, mdi, a1, b2, h1, account, suggested, rejected, image, erased,
                 takedown, search)


@pytest.fixture
def world(session: Session, make_user) -> World:
    user = make_user("supervisor")
    built = build_world(session, user.id)
    session.commit()
    return built
