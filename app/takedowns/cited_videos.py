"""Videos a takedown cites, as photos are cited: the drafter picks the account's videos; each
brings its matched frames into the notice and the pack as images (a frame is an ordinary
held image, evidence of the same post), and the manifest names the video's original by its
sha256 (packs.py). Only videos already sampled, not withdrawn, with a frame that matched
something held can be cited: the pack must show the platform what the clip shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from app.evidence.models import EvidenceImage, EvidenceVideo, Image, Video, VideoFrame
from app.matching.models import Match
from app.takedowns.models import TakedownVideo

MAX_VIDEOS = 20
MATCHED = ("pending", "confirmed")  # as basis.py: rejected and withdrawn links are no basis


@dataclass(frozen=True)
class AccountVideo:
    """One of the account's videos as the drafting form and the takedown page list it."""

    video: Video
    post_url: str
    posted_at: datetime | None
    frames: list[int]  # the account's evidence ids of its matched frames, in clip order

    @property
    def erased(self) -> bool:
        return self.video.erased_at is not None


def account_videos(session: Session, account_id: int,
                   video_ids: list[int] | None = None) -> list[AccountVideo]:
    """The account's videos (or these of them), oldest post first, with their matched frames."""
    query = (select(EvidenceVideo, Video).join(Video, col(Video.id) == EvidenceVideo.video_id)
             .where(EvidenceVideo.account_id == account_id))
    if video_ids is not None:
        query = query.where(col(Video.id).in_(video_ids or [0]))
    first: dict[int, tuple[EvidenceVideo, Video]] = {}
    for post, video in session.exec(query.order_by(col(EvidenceVideo.submitted_at),
                                                   col(EvidenceVideo.id))).all():
        first.setdefault(video.id or 0, (post, video))
    frames = _matched_frames(session, account_id, list(first))
    return [AccountVideo(video, post.post_url, post.posted_at, frames.get(video_id, []))
            for video_id, (post, video) in first.items()]


def _matched_frames(session: Session, account_id: int,
                    video_ids: list[int]) -> dict[int, list[int]]:
    """{video: the account's evidence ids of its frames that matched something held}."""
    if not video_ids:
        return {}
    rows = session.exec(
        select(VideoFrame.video_id, VideoFrame.image_id, EvidenceImage.id)
        .join(Image, col(Image.id) == VideoFrame.image_id)
        .join(EvidenceImage, col(EvidenceImage.image_id) == VideoFrame.image_id)
        .where(col(VideoFrame.video_id).in_(video_ids), col(Image.erased_at).is_(None),
               EvidenceImage.account_id == account_id)
        .order_by(col(VideoFrame.video_id), col(VideoFrame.t), col(EvidenceImage.id))).all()
    images = {image_id for _, image_id, _ in rows}
    matched = set()
    if images:
        for query, candidate in session.exec(select(Match.query_image_id,
                                                    Match.candidate_image_id).where(
                or_(col(Match.query_image_id).in_(images),
                    col(Match.candidate_image_id).in_(images)),
                col(Match.status).in_(MATCHED))).all():
            matched |= {query, candidate}
    out: dict[int, list[int]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for video_id, image_id, evidence_id in rows:
        if image_id in matched and (video_id, image_id) not in seen:  # one post per frame
            seen.add((video_id, image_id))
            out[video_id].append(evidence_id or 0)
    return dict(out)


def problems(session: Session, account_id: int, ids: tuple[int, ...]) -> str:
    """Why these videos cannot be cited ("" when they can), as one message for the field."""
    if len(ids) > MAX_VIDEOS:
        return f"Choose at most {MAX_VIDEOS} videos."
    held = {v.video.id: v for v in account_videos(session, account_id, list(ids))}
    foreign = [i for i in ids if i not in held]
    if foreign:
        return ("Only this account's own videos can go in; these are not: "
                + ", ".join(f"video {i}" for i in foreign) + ".")
    gone = [i for i in ids if held[i].erased]
    if gone:
        return "Withdrawn videos cannot go out: " + ", ".join(f"video {i}" for i in gone) + "."
    unsampled = [f"video {i} ({held[i].video.state})" for i in ids
                 if held[i].video.state != "sampled"]
    if unsampled:
        return ("A video goes in once it has been sampled (its frames are what the pack "
                "shows); not yet: " + ", ".join(unsampled) + ".")
    unmatched = [f"video {i}" for i in ids if not held[i].frames]
    if unmatched:
        return ("No frame of " + ", ".join(unmatched) + " matched anything held: choose the "
                "frames to show among the images instead.")
    return ""


def frames_of(session: Session, account_id: int, ids: tuple[int, ...]) -> list[int]:
    """The evidence ids of the cited videos' matched frames, in the videos' order."""
    held = {v.video.id: v.frames for v in account_videos(session, account_id, list(ids))}
    return [e for i in ids for e in held.get(i, [])]


def store(session: Session, takedown_id: int, account_id: int, ids: tuple[int, ...]) -> None:
    order = {v.video.id: n for n, v in enumerate(account_videos(session, account_id))}
    session.execute(delete(TakedownVideo).where(col(TakedownVideo.takedown_id) == takedown_id))
    for video_id in ids:
        session.add(TakedownVideo(takedown_id=takedown_id, video_id=video_id,
                                  position=order.get(video_id, 10**6)))
    session.flush()


def cited_ids(session: Session, takedown_id: int) -> list[int]:
    return list(session.exec(select(TakedownVideo.video_id).where(
        TakedownVideo.takedown_id == takedown_id).order_by(col(TakedownVideo.position),
                                                            col(TakedownVideo.video_id))))


def cited_of(session: Session, takedown_id: int, account_id: int) -> list[AccountVideo]:
    """The videos this takedown cites, in its order, as they are now."""
    ids = cited_ids(session, takedown_id)
    held = {v.video.id: v for v in account_videos(session, account_id, ids)}
    return [held[i] for i in ids if i in held]
