"""Erasing an account's evidence, and reference photos no longer used (retention or early).

An account's evidence: every evidence link of the account goes (a link a takedown cited
stays, as that takedown's own record, without its file name), and each image goes with it
unless something else still holds it: evidence of another account, or (for retention) a
live reference photo of the cell library, whose own rule governs it. A supervisor's early
erasure takes library photos made from the account's images out of the library too. Erased
images lose their key, files, hashes and candidates (app/evidence/erasure.py,
app/matching/erasure.py); a match that an attribution or account link rests on stays, shown
with an erased image. Takedown evidence packs that held an erased picture lose their key and
file (app/evidence/packkeys.py, app/takedowns/erasure.py); the takedown keeps the rest of its
record.

The audit event holds ids and counts only: no file name, hash, URL, handle or name.
Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, or_, select

from app.accounts.models import Account, AccountLink, Attribution
from app.accounts.service import refresh_counters
from app.audit.service import Actor, record
from app.evidence.erasure import CHUNK, erase_images
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, ReferencePhoto
from app.evidence.videos import erase_videos
from app.matching.erasure import forget_images, matches_of
from app.settings import Settings
from app.takedowns.erasure import drop_legacy_packs
from app.takedowns.models import TakedownImage

ERASED_ACTION = "evidence.erased"
PHOTO_REASON = "retention: reference photo no longer used"


@dataclass
class Erasure:
    """What one erasure did: ids and counts, nothing of what was erased."""

    images_erased: list[int] = field(default_factory=list)
    images_kept_shared: int = 0  # still evidence of another account
    images_kept_library: int = 0  # still a live reference photo (retention only)
    evidence_links_removed: int = 0
    evidence_links_kept: int = 0  # cited by a takedown: its record (erased_at, no file name)
    reference_photos_removed: list[int] = field(default_factory=list)
    matches_removed: int = 0
    matches_kept: int = 0  # the basis of an attribution or account link
    match_runs_removed: int = 0
    packs_removed: int = 0  # takedown evidence packs that held an erased picture
    videos_erased: list[int] = field(default_factory=list)  # their frames: images_erased

    def counts(self) -> dict[str, int]:
        return {k: (len(v) if isinstance(v, list) else v) for k, v in asdict(self).items()}


def _rested_on(session: Session, match_ids: Sequence[int]) -> set[int]:
    """Matches an attribution or account link rests on: they outlive the images."""
    kept: set[int] = set()
    for start in range(0, len(match_ids), CHUNK):
        part = match_ids[start:start + CHUNK]
        for model in (Attribution, AccountLink):
            kept.update(i for i in session.exec(select(model.match_id).where(
                col(model.match_id).in_(part))) if i is not None)
    return kept


def _erase(session: Session, settings: Settings, image_ids: Sequence[int], now: datetime,
           actor: Actor, reason: str, done: Erasure) -> None:
    by = actor.user_id
    erased = erase_images(session, settings, actor, image_ids=image_ids, now=now, reason=reason)
    done.images_erased += erased.images
    done.reference_photos_removed += erased.reference_photos_removed
    if not erased.images:
        return
    keep = _rested_on(session, matches_of(session, erased.images))
    forgotten = forget_images(session, image_ids=erased.images, keep=keep, now=now, by=by)
    done.matches_removed += forgotten.matches_removed
    done.matches_kept += forgotten.matches_kept
    done.match_runs_removed += forgotten.runs_removed
    done.packs_removed += len(erased.packs_erased) + drop_legacy_packs(
        session, settings, erased.images, now, reason)


def erase_account_evidence(session: Session, settings: Settings, actor: Actor, *,
                           account: Account, reason: str, now: datetime,
                           early: bool) -> Erasure:
    """Erase the account's evidence; `early`: a supervisor's decision, library photos too."""
    account_id = account.id or 0
    rows = session.exec(select(EvidenceImage.id, EvidenceImage.image_id).where(
        EvidenceImage.account_id == account_id, col(EvidenceImage.erased_at).is_(None))).all()
    evidence_ids = [e for e, _ in rows if e is not None]
    image_ids = sorted({i for _, i in rows})
    done = Erasure()
    shared = set(session.exec(select(EvidenceImage.image_id).where(
        col(EvidenceImage.image_id).in_(image_ids), col(EvidenceImage.erased_at).is_(None),
        or_(col(EvidenceImage.account_id) != account_id,
            col(EvidenceImage.account_id).is_(None))))) if image_ids else set()
    library: set[int] = set()
    if not early and image_ids:
        library = set(session.exec(select(ReferencePhoto.image_id).where(
            col(ReferencePhoto.image_id).in_(image_ids),
            col(ReferencePhoto.removed_at).is_(None)))) - shared
    done.images_kept_shared, done.images_kept_library = len(shared), len(library)
    _erase(session, settings, [i for i in image_ids if i not in shared | library], now,
           actor, reason, done)
    cited = set(session.exec(select(TakedownImage.evidence_id).where(
        col(TakedownImage.evidence_id).in_(evidence_ids)))) if evidence_ids else set()
    gone = [e for e in evidence_ids if e not in cited]
    for start in range(0, len(gone), CHUNK):
        session.execute(delete(EvidenceImage).where(
            col(EvidenceImage.id).in_(gone[start:start + CHUNK])))
    if cited:
        session.execute(update(EvidenceImage).where(col(EvidenceImage.id).in_(sorted(cited)))
                        .values(original_filename="", erased_at=now))
    done.evidence_links_removed, done.evidence_links_kept = len(gone), len(cited)
    done.videos_erased = _erase_videos(session, settings, account_id, now, reason, actor)
    session.expire_all()
    refresh_counters(session, account)
    session.add(account)
    record(session, actor, ERASED_ACTION, object_type="account", object_ids=[account_id],
           purpose=reason, details={"early": early, "image_ids": done.images_erased,
                                    "reference_photo_ids": done.reference_photos_removed,
                                    **done.counts()})
    return done


def _erase_videos(session: Session, settings: Settings, account_id: int, now: datetime,
                  reason: str, actor: Actor) -> list[int]:
    """The account's videos, as its images: each goes (key, original, poster, preview) unless
    another account's evidence still holds it. Their frames are the account's evidence images,
    erased above by the images' own rules."""
    mine = set(session.exec(select(EvidenceVideo.video_id).where(
        EvidenceVideo.account_id == account_id, col(EvidenceVideo.erased_at).is_(None))))
    if not mine:
        return []
    shared = set(session.exec(select(EvidenceVideo.video_id).where(
        col(EvidenceVideo.video_id).in_(mine), col(EvidenceVideo.erased_at).is_(None),
        or_(col(EvidenceVideo.account_id) != account_id,
            col(EvidenceVideo.account_id).is_(None)))))
    gone = sorted(mine - shared)
    erase_videos(session, settings, actor, video_ids=gone, now=now, reason=reason,
                 frames=False)
    session.execute(update(EvidenceVideo).where(
        EvidenceVideo.account_id == account_id, col(EvidenceVideo.erased_at).is_(None))
        .values(original_filename="", erased_at=now))
    return gone


def erase_unused_photos(session: Session, settings: Settings, actor: Actor, *,
                        removed_before: datetime, now: datetime) -> Erasure:
    """Images of reference photos taken out of the library before `removed_before`, held by
    nothing else (no live photo, no evidence: an account's evidence keeps its own rule)."""
    candidates = session.exec(select(ReferencePhoto.image_id).join(
        Image, col(Image.id) == col(ReferencePhoto.image_id)).where(
        col(ReferencePhoto.removed_at) < removed_before, col(Image.erased_at).is_(None))
        .distinct()).all()
    done = Erasure()
    ids = sorted(set(candidates))
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        held = set(session.exec(select(ReferencePhoto.image_id).where(
            col(ReferencePhoto.image_id).in_(part), col(ReferencePhoto.removed_at).is_(None))))
        held |= set(session.exec(select(EvidenceImage.image_id).where(
            col(EvidenceImage.image_id).in_(part), col(EvidenceImage.erased_at).is_(None))))
        _erase(session, settings, [i for i in part if i not in held], now, actor, PHOTO_REASON,
               done)
    if done.images_erased:
        record(session, actor, ERASED_ACTION, object_type="image", object_ids=done.images_erased,
               purpose=PHOTO_REASON,
               details={"early": False, **done.counts()})
    return done
