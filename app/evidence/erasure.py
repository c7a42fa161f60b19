"""Erasing images (retention, or a supervisor's early erasure): the picture goes for good.

What goes: the image's wrapped key (its sealed files, and any older backup of them, can never
be opened again: the key's copies in the backups' key parts are scrubbed, app/keyscrub.py), the
key of every evidence pack holding a copy of it (packkeys.py), its files (once the erase
commits), its local features, perceptual hashes, sha256 and EXIF facts. Reference photos made
from it leave the cell library. What stays: the row's id, format, size and the time of erasure,
so that an attribution or takedown that cited it can say "image erased". Every match index
drops it on its next refresh (it is erased_at).

The audit events of erasure name ids and counts only; callers record them. Services never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import keyscrub
from app.audit.service import Actor
from app.evidence import packkeys, storage
from app.evidence.models import Image, ImageFeatures, ReferencePhoto
from app.settings import Settings

CHUNK = 500  # ids per statement: well under every database's parameter limit
# An erased image's withdrawal_reason starts with this: pages say "erased", not "withdrawn"
# (withdrawal.withdrawal_of, templates takedowns/_basis.html and search/dossier.html).
ERASED_PREFIX = "Erased: "


@dataclass
class ErasedImages:
    images: list[int] = field(default_factory=list)
    reference_photos_removed: list[int] = field(default_factory=list)
    packs_erased: list[str] = field(default_factory=list)  # evidence packs holding one


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def erase_images(session: Session, settings: Settings, actor: Actor, *,
                 image_ids: Sequence[int], now: datetime, reason: str) -> ErasedImages:
    """Crypto-erase the held images among `image_ids` (already erased ones are skipped);
    pages that showed one say "Erased: <reason>" where it was.

    Each key is destroyed by a conditional UPDATE (only while the image is held), so two
    erasures at once erase each image once; its copies in the backups' key parts are scrubbed
    once this commits (app/keyscrub.py)."""
    done, by = ErasedImages(), actor.user_id
    for ids in _chunks(image_ids):
        held = session.exec(select(Image.id, Image.storage_key).where(
            col(Image.id).in_(ids), col(Image.erased_at).is_(None))).all()
        erased: list[int] = []
        destroyed: list[tuple[str, int | None]] = []
        for image_id, storage_key in held:
            changed = session.execute(
                update(Image).where(col(Image.id) == image_id, col(Image.erased_at).is_(None))
                .values(wrapped_key=b"", erased_at=now, sha256="", withdrawn_by=by,
                        withdrawal_reason=f"{ERASED_PREFIX}{reason}"[:500], phash=0, phash_mirror=0,
                        phash_trim=0, dhash=0, exif_taken_at=None, exif_gps_lat=None,
                        exif_gps_lon=None, exif_device=""))
            if changed.rowcount == 1:  # type: ignore[attr-defined]
                erased.append(image_id or 0)
                storage.delete_on_commit(session, settings, storage_key)
                destroyed.append((storage_key, image_id))
        # withdrawn before: their key and files are gone already; the digest kept for the
        # notices goes now, with the rest of the evidence
        session.execute(update(Image).where(col(Image.id).in_(ids),
                                            col(Image.erased_at).is_not(None), Image.sha256 != "")
                        .values(sha256=""))
        if not erased:
            continue
        keyscrub.queue(session, settings, actor, keyscrub.IMAGE, destroyed)
        done.packs_erased += packkeys.erase_packs_holding(
            session, settings, actor, image_ids=erased, now=now, why=reason)
        session.execute(delete(ImageFeatures).where(col(ImageFeatures.image_id).in_(erased)))
        photos = session.exec(select(ReferencePhoto.id).where(
            col(ReferencePhoto.image_id).in_(erased),
            col(ReferencePhoto.removed_at).is_(None))).all()
        if photos:
            session.execute(update(ReferencePhoto).where(col(ReferencePhoto.id).in_(photos))
                            .values(removed_at=now, removed_by=by))
        done.images += erased
        done.reference_photos_removed += [p for p in photos if p is not None]
    session.expire_all()  # rows read before hold what was erased
    return done
