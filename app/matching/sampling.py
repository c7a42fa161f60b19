"""Sampling a video in the match workers: its frames become ordinary held images, matched as
an uploaded photo is.

A worker claims a waiting video from the same lease queue as second stages (queue.SAMPLINGS),
reads its sealed original, and samples it in the video core's sandbox (one frame a second,
every keyframe and cut) with no transaction open; each
frame's display copy, hashes and local features come from its decoded pixels, on the decode
threads. Then, in one unit of work: each frame is stored as an image (the lossless frame as
its sealed PNG original, a JPEG display copy, its features) with a
`video_frame` row and, for each post the video came from, an evidence link to the same
account; the poster is sealed beside the original; each frame's first matching stage runs
and its second is queued, and so are the clip pass (queue.CLIPS) and the preview
(queue.PREVIEWS: made last, so that no clip's matching waits for it). The claim is
checked last (its fencing token), so a
worker that lost its lease stores nothing, and a killed one left nothing: the video is
sampled again once the lease lapses. A failure is kept as the reason and retried a bounded
number of times, then the video is failed with that reason (the page shows it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import retryable, unit_of_work, unreachable, utcnow
from app.evidence import budget, derive, images, videos
from app.evidence.models import EvidenceVideo, Video, VideoFrame
from app.evidence.videos import clock
from app.matching import queue, service
from app.matching.engine import MatchEngine
from app.matching.models import ClipPass, VideoPreview
from app.settings import Settings
from app.video import Frame, VideoRefused, poster, sample

log = logging.getLogger("cellwatch.matching")
# What higher domains do once a video's frames are stored and their first stage has run, in
# the same unit of work: (session, actor, video id, the frames' image ids). Matching cannot
# import them (imports go one way); each process that samples installs them at start
# (app/accounts/video_links.py `install`: the accounts the frames link).
FollowUp = Callable[[Session, Actor, int, list[int]], None]
FOLLOW_UPS: list[FollowUp] = []


class LostClaim(Exception):
    """This attempt's claim lapsed and was taken by a newer one: its work is dropped."""


@dataclass(frozen=True)
class Sampled:
    frames: list[tuple[Frame, images.Prepared]]
    poster: bytes


# Lossless, metadata-free (header, pixel data, end: no other chunk) and fast: the Sub filter
# on every row, Huffman coding only. For the 15 frames (720x1280) of the speed bench's clip:
# 0.43 s of CPU and 15.7 MB, where Pillow took 0.93 s at level 1 (16.2 MB; it tries every
# filter on every row) and 0.74 s Huffman only (13.7 MB); level 6 took 5.7 s.
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]


def frame_png(frame: Frame) -> bytes:
    """A sampled frame's stored original (the video matching bench stores it so too)."""
    rgb = np.asarray(frame.image.convert("RGB"))
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]), _PNG)  # BGR
    if not ok:
        raise ValueError(f"frame at {clock(frame.t)} could not be encoded as PNG")
    return data.tobytes()


def derive_frame(settings: Settings, frame: Frame, filename: str
                 ) -> tuple[bytes, derive.Decoded]:
    """A frame's stored original (PNG) and, from the same pixels (never decoded back from
    it), its display copy, hashes and local features: its second stage then has them."""
    return frame_png(frame), derive.decode_picture(frame.image, filename,
                                                   long_side=settings.display_long_side)


def derive_frames(settings: Settings, frames: list[Frame], names: list[str]
                  ) -> list[tuple[bytes, derive.Decoded]]:
    """`derive_frame` of every frame, on the process's decode threads at once. Their working
    memory is taken from the process's decode budget here, before they start, so that a
    decode thread never waits for it (an upload holding budget may be waiting for a thread)."""
    if not frames:
        return []
    largest = max(budget.decoded_size(*f.image.size, f.image.mode) for f in frames)
    at_once = min(len(frames), settings.decode_threads)
    with budget.process_budget(settings).hold(budget.working_memory(largest) * at_once,
                                              settings.decode_wait_seconds):
        return budget.map_on_decode_threads(
            settings, lambda k: derive_frame(settings, frames[k], names[k]),
            range(len(frames)))


def _sample(factory: Callable[[], Session], settings: Settings, video: Video) -> Sampled:
    """The slow part, with no transaction open: decode in the sandbox, then each frame's
    derivatives on the process's decode threads."""
    data = videos.read_original(settings, video)
    name = f"video {video.id}"  # no extension: the magic bytes alone say what it is
    caps, limits = settings.video_caps, settings.video_limits
    clip = sample(data, name, caps, limits)
    if not clip.frames:
        raise VideoRefused(f"No frame of video {video.id} could be decoded.", reason="damaged")
    names = [f"{name} at {clock(frame.t)}" for frame in clip.frames]
    derived = derive_frames(settings, clip.frames, names)
    out = []
    with factory() as session:  # reads only: is a frame's picture already held?
        for frame, filename, (png, decoded) in zip(clip.frames, names, derived, strict=True):
            out.append((frame, images.prepare_decoded(session, settings, data=png,
                                                      filename=filename, decoded=decoded)))
    return Sampled(out, poster(clip.frames))


def _store(session: Session, settings: Settings, engine: MatchEngine, actor: Actor,
           video: Video, sampled: Sampled) -> list[int]:
    """Frames, their evidence links, the poster, the frames' first stage; the clip pass and
    the preview queued."""
    posts = session.exec(select(EvidenceVideo).where(
        EvidenceVideo.video_id == video.id, col(EvidenceVideo.erased_at).is_(None))).all()
    image_ids: list[int] = []
    for frame, prepared in sampled.frames:
        image, created = images.store(session, settings, actor, prepared)
        if created and video.file_created_at is not None:
            image.exif_taken_at = video.file_created_at  # a frame's day after the post time
            session.add(image)
        session.add(VideoFrame(video_id=video.id or 0, image_id=image.id or 0,
                               t=round(frame.t, 3), reason=frame.reason[:32]))
        image_ids.append(image.id or 0)
    session.flush()
    for post in posts:  # each frame is evidence of each post the video is
        videos.link_frames(session, post)
    videos.store_derivative(session, settings, video, "poster", sampled.poster)
    video.sampled_at, video.frames = utcnow(), len(sampled.frames)
    session.add(video)
    session.flush()
    unique = list(dict.fromkeys(image_ids))
    if unique and session.get(ClipPass, video.id) is None:  # queued with its frames: never lost
        session.add(ClipPass(video_id=video.id or 0))
    if session.get(VideoPreview, video.id) is None:
        session.add(VideoPreview(video_id=video.id or 0))
    service.first_stage(session, engine, actor, unique)
    for follow_up in FOLLOW_UPS:
        follow_up(session, actor, video.id or 0, unique)
    record(session, actor, "evidence.video.sampled", object_type="video",
           object_ids=[video.id or 0], details={"frames": len(sampled.frames), "images": unique})
    return unique


def run_sampling(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                 taken: queue.Claim, policy: queue.Policy = queue.DEFAULT, *,
                 settings: Settings) -> list[int] | None:
    """One claimed video: sampled and stored, or its failure recorded (never raised, but a
    database gone away is, for the caller to give the claim back). Returns the frames' image
    ids when this attempt stored them (their second stages are queued), else None."""
    try:
        with factory() as session:
            video = session.get(Video, taken.image_id)
            if video is None or video.erased_at is not None:
                return None
        sampled = _sample(factory, settings, video)  # detached: its columns are loaded
        with unit_of_work(factory) as session:
            video = session.get(Video, taken.image_id)
            if video is None or video.erased_at is not None:
                return None
            ids = _store(session, settings, engine, actor, video, sampled)
            if not queue.still_mine(session, taken, on=queue.SAMPLINGS):
                raise LostClaim
        return ids
    except LostClaim:
        log.warning("sampling of video %s: claim %d lapsed and was taken again; dropped",
                    taken.image_id, taken.attempt)
        return None
    except Exception as exc:  # noqa: BLE001 - nobody to raise to: the reason is kept instead
        if isinstance(exc, SQLAlchemyError) and (unreachable(exc) or retryable(exc)):
            raise
        reason = exc.message if isinstance(exc, VideoRefused) else f"{type(exc).__name__}: {exc}"
        log.warning("sampling of video %s failed: %s", taken.image_id, reason)
        with unit_of_work(factory) as session:
            queue.record_failed_attempt(session, actor, taken, reason, utcnow(), policy,
                                        on=queue.SAMPLINGS)
        return None


def give_up_lapsed(factory: Callable[[], Session], actor: Actor,
                   policy: queue.Policy = queue.DEFAULT) -> list[int]:
    """Videos whose every sampling attempt's worker died: failed, with that reason."""
    with unit_of_work(factory) as session:
        return queue.record_lapsed(session, actor, utcnow(), policy, on=queue.SAMPLINGS)


def sampling_job(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                 video_ids: Iterable[int], policy: queue.Policy = queue.DEFAULT, *,
                 settings: Settings, worker: str = "") -> list[int]:
    """After an answer (no match workers): claim and sample each video. Returns the frames'
    image ids, whose second stages the caller runs next."""
    frames: list[int] = []
    for video_id in video_ids:
        with unit_of_work(factory) as session:
            taken = queue.claim(session, video_id, utcnow(), worker, policy,
                                on=queue.SAMPLINGS)
        if taken is not None:
            frames += run_sampling(factory, engine, actor, taken, policy,
                                   settings=settings) or []
    return frames
