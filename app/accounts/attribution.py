"""Attribution: from a confirmed cell match and the photo's time to the prisoners in that cell.

The photo's time is the post time, else the photo's own capture time, else the intake time,
and the basis says which, so an analyst can weigh a suggestion before confirming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import Account, AccountStatus, Attribution, AttributionStatus
from app.accounts.service import get_account, refresh_priority, set_status, touch
from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from app.estate.queries import current_stay, find_prisoner, occupants_on
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching import service as matching
from app.matching.models import Match

TIME_SOURCES = {"post": "post time", "capture": "the photo's capture time",
                "intake": "intake time"}


@dataclass(frozen=True)
class PhotoTime:
    at: datetime
    source: str  # post | capture | intake


def photo_time(evidence: EvidenceImage, image: Image) -> PhotoTime:
    if evidence.posted_at is not None:
        return PhotoTime(evidence.posted_at, "post")
    if image.exif_taken_at is not None:
        return PhotoTime(image.exif_taken_at, "capture")
    return PhotoTime(evidence.submitted_at, "intake")


def _stay_words(stay: Occupancy, day: date) -> str:
    until = stay.ends_on.isoformat() if stay.ends_on else "now"
    words = f"in the cell from {stay.starts_on.isoformat()} to {until}"
    if stay.starts_on == day:
        words += "; moved in that day"
    if stay.ends_on == day:
        words += "; moved out that day"
    return words


def suggest_for_match(session: Session, actor: Actor, match: Match, tz: str) -> list[Attribution]:
    """For a confirmed match between an account's image and a cell's reference photo, suggest
    every prisoner who occupied the cell on the photo's day (cellmates included)."""
    if match.status != "confirmed":
        return []
    sides = [(match.query_image_id, match.candidate_image_id),
             (match.candidate_image_id, match.query_image_id)]
    made: list[Attribution] = []
    for evidence_image_id, reference_image_id in sides:
        cells = session.exec(select(Cell, Establishment)
                             .join(ReferencePhoto, col(ReferencePhoto.cell_id) == col(Cell.id))
                             .join(Establishment,
                                   col(Establishment.id) == col(Cell.establishment_id))
                             .where(ReferencePhoto.image_id == reference_image_id,
                                    col(ReferencePhoto.removed_at).is_(None))).all()
        posts = session.exec(select(EvidenceImage).where(
            EvidenceImage.image_id == evidence_image_id,
            col(EvidenceImage.account_id).is_not(None))).all()
        image = session.get(Image, evidence_image_id)
        if image is None:
            continue
        for evidence in posts:
            when = photo_time(evidence, image)
            day = when.at.astimezone(ZoneInfo(tz)).date()
            for cell, est in cells:
                for prisoner, stay in occupants_on(session, cell.id or 0, day):
                    basis = (f"Image {evidence_image_id} matches a reference photo of cell "
                             f"{cell.label} at {est.code} (match {match.id}, {match.method}); "
                             f"photo dated {day.isoformat()} by {TIME_SOURCES[when.source]}; "
                             f"{prisoner.prison_number} was {_stay_words(stay, day)}.")
                    row = _suggest(session, actor, evidence.account_id or 0, prisoner, basis,
                                   match=match, cell=cell, when=when)
                    if row is not None:
                        made.append(row)
    return made


@dataclass(frozen=True)
class CellDecision:
    matches: list[Match]  # the match decided, then the pairs decided with it (same cell)
    suggested: list[Attribution]


def decide_cell(session: Session, actor: Actor, match: Match, *, confirm: bool, note: str,
                tz: str) -> CellDecision:
    """An analyst's decision on a candidate: a cell candidate is decided for its cell (the
    image's other pending pairs with that cell's reference photos with it, see
    `matching.review_cell`); a confirmed cell suggests the prisoners in that cell on the
    photo's day, each once per account."""
    decided = matching.review_cell(session, actor, match, confirm=confirm, note=note)
    return CellDecision(decided, suggest_for_match(session, actor, match, tz) if confirm else [])


def decide_match(session: Session, actor: Actor, match: Match, *, confirm: bool, note: str,
                 tz: str) -> list[Attribution]:
    """`decide_cell`, answering with the suggestions made."""
    return decide_cell(session, actor, match, confirm=confirm, note=note, tz=tz).suggested


def _open_or_same_basis(session: Session, account_id: int, prisoner_id: int, kind: str,
                        cell: Cell | None) -> Attribution | None:
    """An attribution that makes a new suggestion redundant: one still suggested or
    confirmed for this account and prisoner (whatever its basis), or the same basis (kind and
    cell) already rejected."""
    rows = session.exec(select(Attribution).where(
        Attribution.account_id == account_id, Attribution.prisoner_id == prisoner_id)).all()
    for row in rows:
        if row.status != AttributionStatus.rejected.value:
            return row
    cell_id = cell.id if cell else None
    return next((r for r in rows if r.basis_kind == kind and r.cell_id == cell_id), None)


def _lock_account(session: Session, account_id: int) -> None:
    """Take the account's row lock before looking for its attributions, so that two
    decisions at once for one account suggest a prisoner once: the second waits for the
    first's commit and then sees its suggestion (the lock is held to the end of the txn)."""
    session.execute(update(Account).where(col(Account.id) == account_id)
                    .values(version=col(Account.version)))


def _suggest(session: Session, actor: Actor, account_id: int, prisoner: Prisoner, basis: str,
             *, match: Match | None, cell: Cell | None, when: PhotoTime | None,
             kind: str = "cell_match") -> Attribution | None:
    """A suggestion, once per account and prisoner: none while one is suggested or confirmed
    (so a prisoner is never shown both), none for a basis already rejected."""
    _lock_account(session, account_id)
    if _open_or_same_basis(session, account_id, prisoner.id or 0, kind, cell) is not None:
        return None
    row = Attribution(account_id=account_id, prisoner_id=prisoner.id or 0, basis_kind=kind,
                      basis=basis[:1000], match_id=match.id if match else None,
                      cell_id=cell.id if cell else None, photo_time=when.at if when else None,
                      time_source=when.source if when else "", created_by=actor.user_id)
    session.add(row)
    session.flush()
    record(session, actor, "attribution.suggest", object_type="attribution",
           object_ids=[row.id or 0],
           details={"account_id": account_id, "prisoner_id": prisoner.id, "kind": kind})
    account = session.get(Account, account_id)
    if account is not None and account.status == AccountStatus.new.value:
        set_status(session, actor, account, AccountStatus.under_review,
                   note="an attribution was suggested")
    return row


def get_attribution(session: Session, attribution_id: int) -> Attribution:
    row = session.get(Attribution, attribution_id)
    if row is None:
        raise NotFound(f"There is no attribution {attribution_id}.")
    return row


def decide(session: Session, actor: Actor, row: Attribution, *, confirm: bool,
           note: str = "") -> Attribution:
    if row.status != AttributionStatus.suggested.value:
        raise Conflict(f"This attribution was already {row.status}; reload.")
    values: dict[str, object] = {
        "status": (AttributionStatus.confirmed if confirm else AttributionStatus.rejected).value,
        "decided_by": actor.user_id, "decided_at": utcnow()}
    if note.strip():
        values["reason"] = note.strip()[:1000]
    # conditional on it still being a suggestion: of two people deciding at once, one decides
    decided = session.execute(update(Attribution).where(
        col(Attribution.id) == row.id,
        col(Attribution.status) == AttributionStatus.suggested.value).values(**values))
    session.refresh(row)
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"This attribution was already {row.status}; reload.")
    record(session, actor, "attribution.confirm" if confirm else "attribution.reject",
           object_type="attribution", object_ids=[row.id or 0],
           details={"account_id": row.account_id, "prisoner_id": row.prisoner_id})
    _after_change(session, actor, row.account_id)
    return row


def attribute_manually(session: Session, actor: Actor, account_id: int, prison_number: str,
                       reason: str) -> Attribution:
    """An analyst's own attribution, confirmed at once; it must say why."""
    reason = reason.strip()
    if not 10 <= len(reason) <= 1000:
        raise Unprocessable("A manual attribution needs a reason of 10-1000 characters.")
    get_account(session, account_id)
    prisoner = find_prisoner(session, prison_number.strip().upper())
    if prisoner is None:
        raise NotFound(f"No prisoner has the prison number {prison_number.strip().upper()!r}.")
    _lock_account(session, account_id)
    already = session.exec(select(Attribution).where(
        Attribution.account_id == account_id, Attribution.prisoner_id == prisoner.id,
        col(Attribution.status).in_([AttributionStatus.confirmed.value,
                                     AttributionStatus.suggested.value]))).first()
    if already is not None and already.status == AttributionStatus.confirmed.value:
        raise Conflict(f"The account is already attributed to {prisoner.prison_number}.")
    if already is not None:  # one attribution per prisoner: decide the suggestion instead
        raise Conflict(f"{prisoner.prison_number} is already suggested for this account "
                       f"(attribution {already.id}): confirm that suggestion, with your "
                       "reason as its note.")
    row = Attribution(account_id=account_id, prisoner_id=prisoner.id or 0, basis_kind="manual",
                      basis=f"Manual attribution: {reason}", reason=reason,
                      status=AttributionStatus.confirmed.value, created_by=actor.user_id,
                      decided_by=actor.user_id, decided_at=utcnow())
    session.add(row)
    session.flush()
    record(session, actor, "attribution.manual", object_type="attribution",
           object_ids=[row.id or 0],
           details={"account_id": account_id, "prisoner_id": prisoner.id})
    _after_change(session, actor, account_id)
    return row


def carry_over(session: Session, actor: Actor, account: Account, earlier: Account) -> int:
    """A re-emerged account inherits its predecessor's confirmed attributions as suggestions."""
    count = 0
    rows = session.exec(select(Attribution, Prisoner)
                        .join(Prisoner, col(Prisoner.id) == col(Attribution.prisoner_id))
                        .where(Attribution.account_id == earlier.id,
                               Attribution.status == AttributionStatus.confirmed.value)).all()
    for attribution, prisoner in rows:
        basis = (f"Re-emergence: account {earlier.id} ({earlier.platform} {earlier.handle}), "
                 f"removed by its platform, was attributed to {prisoner.prison_number} "
                 f"({attribution.basis_kind}).")
        if _suggest(session, actor, account.id or 0, prisoner, basis, match=None, cell=None,
                    when=None, kind="re_emergence"):
            count += 1
    return count


def _after_change(session: Session, actor: Actor, account_id: int) -> None:
    """Status, establishment and priority follow the confirmed attributions."""
    account = get_account(session, account_id)
    confirmed = session.exec(select(Attribution).where(
        Attribution.account_id == account_id,
        Attribution.status == AttributionStatus.confirmed.value)
        .order_by(col(Attribution.decided_at).desc())).all()
    if confirmed:
        cell_id = next((a.cell_id for a in confirmed if a.cell_id), None)
        if cell_id is None:  # a manual attribution: where the prisoner is held now
            stay = current_stay(session, confirmed[0].prisoner_id)
            cell_id = stay.cell_id if stay else None
        if cell_id is not None:
            cell = session.get(Cell, cell_id)
            account.establishment_id = cell.establishment_id if cell else None
        if account.status in (AccountStatus.new.value, AccountStatus.under_review.value):
            set_status(session, actor, account, AccountStatus.attributed,
                       note="attribution confirmed")
    touch(session, account)
    refresh_priority(session, account)


def for_account(session: Session, account_id: int) -> list[tuple[Attribution, Prisoner]]:
    return list(session.exec(
        select(Attribution, Prisoner)
        .join(Prisoner, col(Prisoner.id) == col(Attribution.prisoner_id))
        .where(Attribution.account_id == account_id)
        .order_by(col(Attribution.status), col(Attribution.created_at).desc())).all())
