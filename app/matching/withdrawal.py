"""Withdrawing an image, as matching sees it: the image goes (app/evidence/withdrawal.py), and
its match candidates are settled so that an analyst can still trust the rest.

- A pending candidate involving the image leaves the review queue: its status becomes
  `withdrawn` (nobody can confirm a link to a picture that is gone), with who and when.
- A confirmed or rejected one stays as it was: a confirmed match is the basis of attributions
  and account links, and it stays visible as "withdrawn image" on every page that lists it, so
  the basis of an attribution is never silently lost. Attributions resting on it are kept (an
  analyst decides on them) and shown as resting on a withdrawn image.
- The match index drops the image on its next refresh, in every process (each refreshes
  before every query), because the image's `erased_at` is set.

Services never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict
from app.evidence.models import Image, Video
from app.evidence.videos import erase_videos
from app.evidence.withdrawal import check_reason, withdraw_image
from app.matching.models import Match
from app.settings import Settings

WITHDRAWN = "withdrawn"  # a Match status: its image was withdrawn before anyone decided


def withdraw(session: Session, settings: Settings, actor: Actor, *, image: Image,
             reason: str | None) -> dict[str, Any]:
    """Withdraw the image and settle its candidates; returns what was done."""
    done = withdraw_image(session, settings, actor, image=image, reason=reason)
    involving = or_(col(Match.query_image_id) == done.image_id,
                    col(Match.candidate_image_id) == done.image_id)
    rows = session.exec(select(Match.id, Match.status).where(involving)
                        .order_by(col(Match.id))).all()
    pending = [i for i, status in rows if status == "pending" and i is not None]
    kept = [i for i, status in rows if status == "confirmed" and i is not None]
    if pending:
        # conditional on still pending: a decision taken meanwhile stands
        session.execute(update(Match).where(col(Match.id).in_(pending),
                                            col(Match.status) == "pending")
                        .values(status=WITHDRAWN, reviewed_by=actor.user_id,
                                reviewed_at=done.withdrawn_at,
                                review_note=f"Image {done.image_id} was withdrawn."))
        record(session, actor, "match.withdrawn", object_type="match", object_ids=pending,
               purpose=done.reason, details={"image_id": done.image_id})
    return {
        "image_id": done.image_id, "withdrawn_at": done.withdrawn_at.isoformat(),
        "withdrawn_by": actor.name, "reason": done.reason, "key_destroyed": True,
        "evidence_ids": done.evidence_ids, "account_ids": done.account_ids,
        "reference_photos_removed": done.reference_photos_removed,
        "matches_withdrawn": pending, "confirmed_matches_kept": kept,
    }


def withdraw_video(session: Session, settings: Settings, actor: Actor, *, video: Video,
                   reason: str | None) -> dict[str, Any]:
    """Withdraw a video: its key and files (original, poster, preview) go, and each of its
    frames is withdrawn as an image is (its candidates settled), unless another video still
    held shares that frame. A 409 if it already was."""
    text = check_reason(reason, "withdrawing this video")
    if video.erased_at is not None:
        raise Conflict(f"Video {video.id} was already withdrawn.")
    frames = erase_videos(session, settings, actor, video_ids=[video.id or 0], now=utcnow(),
                          reason=text, frames=False)
    done = [withdraw(session, settings, actor, image=image, reason=text)
            for image in session.exec(select(Image).where(
                col(Image.id).in_(frames or [0]), col(Image.erased_at).is_(None))
                .order_by(col(Image.id))).all()]
    record(session, actor, "evidence.video.withdrawn", object_type="video",
           object_ids=[video.id or 0], purpose=text,
           details={"frames_withdrawn": [d["image_id"] for d in done]})
    return {"video_id": video.id, "reason": text, "key_destroyed": True,
            "frames_withdrawn": [d["image_id"] for d in done],
            "matches_withdrawn": sorted(m for d in done for m in d["matches_withdrawn"]),
            "confirmed_matches_kept": sorted(m for d in done
                                             for m in d["confirmed_matches_kept"])}
