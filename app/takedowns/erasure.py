"""Erased images, as takedowns see them: an evidence pack that holds an erased picture goes.

A takedown keeps its own record (its events, notices with the sha256 of each pack sent, the
evidence links it cited, shown as erased). A pack's own key is destroyed with any image it
holds (evidence/packkeys.py), and its file deleted once the erasure commits; a pack sealed the
old way (before per-pack keys, not converted yet) is deleted here. Their downloads then answer
410 with the reason (pages_detail.py), the takedown page says so, and a notice still to send
gets a new pack without the picture (notices.pack_for). Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.evidence.models import EvidenceImage, Image, PackKey
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


def drop_legacy_packs(session: Session, settings: Settings, image_ids: Sequence[int],
                      now: datetime, why: str) -> int:
    """Packs sealed before packs had keys of their own (not converted yet) that carry one of
    these now-erased pictures: no key of theirs can be destroyed, so the file goes (on
    commit) and an erased key row records why, for the takedown page. Returns how many.
    (Packs with their own key were erased with the images: evidence/packkeys.py.)"""
    takedowns = takedowns_citing(session, image_ids)
    if not takedowns:
        return 0
    keys = set(session.exec(select(Notice.pack_key).where(
        col(Notice.takedown_id).in_(takedowns), Notice.pack_key != "")))
    keys |= set(session.exec(select(NoticePreview.pack_key).where(
        col(NoticePreview.takedown_id).in_(takedowns))))
    doomed = []
    for key in sorted(keys):
        if session.get(PackKey, key) is not None:
            continue  # its own key: erased (or not) by evidence/packkeys.py
        try:
            manifest = packs.manifest_of(packfiles.read(session, settings, key))
        except packfiles.PackMissing:
            continue
        gone = packs.withdrawn_in(session, manifest)
        if gone:
            doomed.append(packfiles.path_for(settings, key))
            session.add(PackKey(pack_key=key, wrapped_key=b"", erased_at=now,
                                erasure_reason=f"erased with image "
                                f"{', '.join(map(str, gone))} ({why})"[:600]))
    delete_when_committed(session, *doomed)
    return len(doomed)


def cites_erased(session: Session, takedown_id: int) -> list[int]:
    """Evidence images this takedown cited whose picture was erased or withdrawn."""
    return sorted(i for i in session.exec(select(Image.id).join(
        EvidenceImage, col(EvidenceImage.image_id) == col(Image.id)).join(
        TakedownImage, col(TakedownImage.evidence_id) == col(EvidenceImage.id)).where(
        TakedownImage.takedown_id == takedown_id, col(Image.erased_at).is_not(None))).all()
        if i is not None)
