"""Evidence taken in over the period, per establishment (the account's): images and videos,
each its own figure. A video's sampled frames are images held beside it, evidence of the same
post, but they are the video's content: they are counted as the video, never among the
images. Evidence not linked to an account has no establishment and is left out."""

from __future__ import annotations

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.evidence.models import EvidenceImage, EvidenceVideo, VideoFrame
from app.reports.period import Period
from app.reports.sql import in_period


def images_taken_in(session: Session, period: Period) -> dict[int | None, int]:
    """Evidence images (photos, not frames) submitted in the period, by establishment."""
    frame = exists().where(VideoFrame.image_id == EvidenceImage.image_id)
    rows = session.exec(
        select(Account.establishment_id, func.count())
        .select_from(EvidenceImage).join(Account, col(Account.id) == EvidenceImage.account_id)
        .where(*in_period(col(EvidenceImage.submitted_at), period), ~frame)
        .group_by(col(Account.establishment_id))).all()
    return {est: int(n) for est, n in rows}


def videos_taken_in(session: Session, period: Period) -> dict[int | None, int]:
    """Evidence videos submitted in the period, by establishment."""
    rows = session.exec(
        select(Account.establishment_id, func.count())
        .select_from(EvidenceVideo).join(Account, col(Account.id) == EvidenceVideo.account_id)
        .where(*in_period(col(EvidenceVideo.submitted_at), period))
        .group_by(col(Account.establishment_id))).all()
    return {est: int(n) for est, n in rows}
