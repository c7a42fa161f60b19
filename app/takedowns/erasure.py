"""Erased images, as takedowns see them: an evidence pack that holds an erased picture goes.

A takedown keeps its own record (its events, notices with the sha256 of each pack sent, the
evidence links it cited, shown as erased). The pack files on disk are sealed under a key
derived from the master key, not the image's, so erasing the image's key does not close them:
the packs that hold one of the erased pictures are deleted once the erasure commits. Their
downloads then answer 410 (pages_detail.py), and a notice still to send gets a new pack
without the picture (notices.pack_for). Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.evidence.models import EvidenceImage, Image
from app.settings import Settings
from app.takedowns import packfiles, packs
from app.takedowns.models import Notice, NoticePreview, TakedownImage
from app.txfiles import delete_when_committed


def takedowns_citing(session: Session, image_ids: Sequence[int]) -> list[int]:
    if not image_ids:
        return []
    return sorted(set(session.exec(select(TakedownImage.takedown_id).join(
        EvidenceImage, col(EvidenceImage.id) == col(TakedownImage.evidence_id)).where(
        col(EvidenceImage.image_id).in_(sorted(set(image_ids)))))))


def drop_packs_holding(session: Session, settings: Settings, image_ids: Sequence[int]) -> int:
    """Delete (on commit) every pack of the takedowns citing these now-erased images that
    carries one of their pictures; returns how many."""
    takedowns = takedowns_citing(session, image_ids)
    if not takedowns:
        return 0
    keys = set(session.exec(select(Notice.pack_key).where(
        col(Notice.takedown_id).in_(takedowns), Notice.pack_key != "")))
    keys |= set(session.exec(select(NoticePreview.pack_key).where(
        col(NoticePreview.takedown_id).in_(takedowns))))
    doomed = []
    for key in sorted(keys):
        try:
            manifest = packs.manifest_of(packfiles.read(settings, key))
        except packfiles.PackMissing:
            continue
        if packs.withdrawn_in(session, manifest):
            doomed.append(packfiles.path_for(settings, key))
    delete_when_committed(session, *doomed)
    return len(doomed)


def cites_erased(session: Session, takedown_id: int) -> list[int]:
    """Evidence images this takedown cited whose picture was erased or withdrawn."""
    return sorted(i for i in session.exec(select(Image.id).join(
        EvidenceImage, col(EvidenceImage.image_id) == col(Image.id)).join(
        TakedownImage, col(TakedownImage.evidence_id) == col(EvidenceImage.id)).where(
        TakedownImage.takedown_id == takedown_id, col(Image.erased_at).is_not(None))).all()
        if i is not None)
