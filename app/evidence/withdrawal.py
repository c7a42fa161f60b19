"""Withdrawing an evidence image: a supervisor takes an image out of the service, with a reason.

What goes (the erased data): the image's key (so its sealed files, and any older backup of
them, can never be opened again), the key of every evidence pack holding a copy of it, its
files, its local features, its perceptual hashes and
what its metadata said (EXIF time, position, device). Its row stays, holding what is not the
image: its id, size and sha256 (the identity that notices already sent name), the posts and
accounts it was evidence of, and who withdrew it, when and why. Reference photos made from it
leave the cell library. Matching sees the erasure on its next refresh (every process refreshes
before each query), and the same bytes sent again are a new image, matched afresh.

The audit event names the image, its evidence rows and accounts, the reference photos removed,
who and why, and holds none of the erased data: no sha256, no hash, no metadata.

What a withdrawal means to matches, attributions and takedowns belongs to those domains (see
app/matching/withdrawal.py, which calls this). Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import keyscrub
from app.audit.service import Actor, record
from app.auth.models import User
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.evidence import packkeys, storage
from app.evidence.erasure import ERASED_PREFIX
from app.evidence.models import EvidenceImage, Image, ImageFeatures, ReferencePhoto
from app.settings import Settings
from app.web.dates import local_day, local_time

REASON_MIN = 5
REASON_MAX = 500


@dataclass(frozen=True)
class Withdrawn:
    """What a withdrawal did, for the page, the API answer and the layers above."""

    image_id: int
    withdrawn_at: datetime
    reason: str
    evidence_ids: list[int] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    reference_photos_removed: list[int] = field(default_factory=list)
    packs_erased: list[str] = field(default_factory=list)


def check_reason(reason: str | None, doing: str = "withdrawing this image") -> str:
    """The reason for an irreversible step, runs of spaces collapsed, within the bounds."""
    text = " ".join((reason or "").split())
    if len(text) < REASON_MIN:
        raise Unprocessable(f"Give the reason for {doing} (at least {REASON_MIN} characters).")
    if len(text) > REASON_MAX:
        raise Unprocessable(f"The reason must be at most {REASON_MAX} characters "
                            f"({len(text)} were given).")
    return text


def withdraw_image(session: Session, settings: Settings, actor: Actor, *, image: Image,
                   reason: str | None) -> Withdrawn:
    """Crypto-erase one image and record who withdrew it and why; a 409 if it already was.

    The key is destroyed by a conditional UPDATE (only while the image is held), so of two
    supervisors withdrawing at once exactly one does it. Files go once this commits."""
    text = check_reason(reason)
    now = utcnow()
    done = session.execute(
        update(Image).where(col(Image.id) == image.id, col(Image.erased_at).is_(None))
        .values(wrapped_key=b"", erased_at=now, withdrawn_by=actor.user_id,
                withdrawal_reason=text, phash=0, phash_mirror=0, phash_trim=0, dhash=0,
                exif_taken_at=None, exif_gps_lat=None, exif_gps_lon=None, exif_device=""))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(image)
        on = local_day(image.erased_at, settings.local_timezone)
        raise Conflict(f"Image {image.id} was already withdrawn{f' on {on}' if on else ''}.")
    session.refresh(image)
    image_id = image.id or 0
    session.execute(delete(ImageFeatures).where(col(ImageFeatures.image_id) == image_id))
    storage.delete_on_commit(session, settings, image.storage_key)
    keyscrub.queue(session, settings, actor, keyscrub.IMAGE, [(image.storage_key, image_id)])
    packs = packkeys.erase_packs_holding(session, settings, actor, image_ids=[image_id],
                                         now=now, why=f"withdrawn: {text}")
    library = dict(session.exec(select(ReferencePhoto.id, ReferencePhoto.cell_id).where(
        ReferencePhoto.image_id == image_id, col(ReferencePhoto.removed_at).is_(None))).all())
    removed = sorted(library)
    if removed:
        session.execute(update(ReferencePhoto).where(col(ReferencePhoto.id).in_(removed))
                        .values(removed_at=now, removed_by=actor.user_id))
    evidence = session.exec(select(EvidenceImage.id, EvidenceImage.account_id).where(
        EvidenceImage.image_id == image_id).order_by(col(EvidenceImage.id))).all()
    result = Withdrawn(
        image_id=image_id, withdrawn_at=now, reason=text,
        evidence_ids=[e for e, _ in evidence if e is not None],
        account_ids=sorted({a for _, a in evidence if a is not None}),
        reference_photos_removed=[r for r in removed if r is not None], packs_erased=packs)
    record(session, actor, "evidence.image.withdrawn", object_type="image",
           object_ids=[image_id], purpose=text,
           details={"reason": text, "evidence_ids": result.evidence_ids,
                    "account_ids": result.account_ids,
                    "reference_photos_removed": result.reference_photos_removed})
    for photo_id in result.reference_photos_removed:
        record(session, actor, "library.photo.removed", object_type="reference_photo",
               object_ids=[photo_id], purpose=text,
               details={"cell_id": library[photo_id], "image_id": image_id,
                        "why": "image withdrawn"})
    return result


def withdrawal_of(session: Session, image: Image, tz: str) -> dict[str, str] | None:
    """"Withdrawn (or Erased) on <date> by <name>: <reason>" for pages; None while held."""
    if image.erased_at is None:
        return None
    user = session.get(User, image.withdrawn_by) if image.withdrawn_by else None
    name = (user.display_name or user.username) if user else "system"
    erased = image.withdrawal_reason.startswith(ERASED_PREFIX)  # retention or early erasure
    return {"at": image.erased_at.isoformat(), "at_local": local_time(image.erased_at, tz),
            "by": name, "what": "Erased" if erased else "Withdrawn",
            "reason": image.withdrawal_reason.removeprefix(ERASED_PREFIX)
            or "(no reason recorded: erased before withdrawals were recorded)"}
