"""Stored videos: take one in (checked from its header, sealed, waiting to be sampled), read
it back, store its poster and preview, erase it with its frames.

A video is sealed like an image: a key of its own wrapped by the master key, the original and
its derivatives under one random storage key. Only the poster (JPEG) and the preview (a short
metadata-free MP4) are ever served. Its frames are ordinary images (app/matching/sampling.py
makes them in a match worker). Services never commit.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from app import keyscrub
from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import NotFound
from app.evidence import crypto, storage
from app.evidence.erasure import erase_images
from app.evidence.errors import StoredImageDamaged
from app.evidence.images import image_key
from app.evidence.models import EvidenceImage, EvidenceVideo, Video, VideoFrame
from app.evidence.validation import sniff as sniff_photo
from app.settings import Settings
from app.video import VideoInfo, inspect
from app.video.boxes import declared_created
from app.video.sniff import sniff
from app.web.dates import local_day

log = logging.getLogger("cellwatch.evidence")
DERIVATIVES = ("poster", "preview")


VIDEO_NAMES = (".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv", ".3gp")


def is_video(data: bytes, filename: str) -> bool:
    """Whether a file goes through the video checks: its magic bytes are a clip (a video
    container, or an animated GIF or WebP). A still GIF or WebP stays with the photo checks,
    and so does a photo whatever its name; bytes that are neither, named as a video, are
    refused by the video checks, whose message says why as a video."""
    found = sniff(data)
    if found is not None:
        return found.kind in ("video", "animation")
    return sniff_photo(data) is None and filename.lower().endswith(VIDEO_NAMES)


@dataclass(frozen=True)
class PreparedVideo:
    """A clip that passed its header checks, ready to store (nothing stored yet)."""

    filename: str
    data: bytes
    sha256: str
    info: VideoInfo
    created: datetime | None  # the container's own creation time, when it has one


def find_by_sha256(session: Session, sha256: str) -> Video | None:
    return session.exec(select(Video).where(Video.sha256 == sha256,
                                            col(Video.erased_at).is_(None))).first()


def _file_created(data: bytes, info: VideoInfo) -> datetime | None:
    if info.container not in ("mp4", "mov"):
        return None
    stamp = declared_created(io.BytesIO(data))
    if stamp is None or stamp > utcnow().timestamp() + 86400:
        return None  # unset, or a clock that was wrong: the day would mislead
    return datetime.fromtimestamp(stamp, UTC)


def prepare(settings: Settings, *, data: bytes, filename: str) -> PreparedVideo:
    """The header checks (app.video.inspect, in its sandbox): VideoRefused, a clear 4xx,
    when the clip breaks a cap or cannot be read. Nothing is decoded and nothing stored."""
    info = inspect(data, filename, settings.video_caps, limits=settings.video_limits)
    return PreparedVideo(filename, data, hashlib.sha256(data).hexdigest(), info,
                         _file_created(data, info))


def store(session: Session, settings: Settings, actor: Actor,
          prepared: PreparedVideo) -> tuple[Video, bool]:
    """Seal and record a checked clip, waiting to be sampled -> (video, created)."""
    held = find_by_sha256(session, prepared.sha256)
    if held is not None:
        return held, False
    info = prepared.info
    key, storage_key = crypto.new_key(), storage.new_storage_key()
    storage.store(session, settings, storage_key, "original",
                  crypto.seal(key, prepared.data, storage_key=storage_key, kind="original"))
    video = Video(sha256=prepared.sha256, container=info.container, codec=info.codec[:16],
                  duration=info.seconds, width=info.width, height=info.height,
                  frame_rate=info.fps, byte_size=len(prepared.data), storage_key=storage_key,
                  wrapped_key=crypto.wrap_key(settings.master_key_bytes, key),
                  master_key_id=settings.master_key_id, file_created_at=prepared.created,
                  created_by=actor.user_id)
    session.add(video)
    session.flush()
    record(session, actor, "evidence.video.stored", object_type="video",
           object_ids=[video.id or 0],
           details={"sha256": video.sha256, "container": video.container,
                    "codec": video.codec, "byte_size": video.byte_size,
                    "seconds": video.duration, "filename": prepared.filename})
    return video, True


def link_post(session: Session, actor: Actor, video: Video, *, filename: str, url: str,
              posted_at: datetime | None) -> tuple[EvidenceVideo, bool]:
    """The video as evidence of a post -> (link, new); the same post again is one link."""
    linked = session.exec(select(EvidenceVideo).where(
        EvidenceVideo.video_id == video.id, EvidenceVideo.post_url == url,
        col(EvidenceVideo.erased_at).is_(None))).first()
    if linked is not None:
        if linked.posted_at is None and posted_at is not None:
            linked.posted_at = posted_at
            session.add(linked)
        return linked, False
    evidence = EvidenceVideo(video_id=video.id or 0, post_url=url, posted_at=posted_at,
                             original_filename=filename, submitted_by=actor.user_id)
    session.add(evidence)
    session.flush()
    return evidence, True


def _open(settings: Settings, video: Video, kind: str) -> bytes:
    if video.erased_at is not None:
        raise NotFound(f"Video {video.id} was erased on "
                       f"{local_day(video.erased_at, settings.local_timezone)}.")
    try:
        blob = storage.read(settings, video.storage_key, kind)
        return crypto.unseal(image_key(settings, video), blob, storage_key=video.storage_key,
                             kind=kind)
    except FileNotFoundError:
        if kind in DERIVATIVES:
            said = f": it is {video.state}" if video.sampled_at is None else ""
            raise NotFound(f"Video {video.id} has no {kind} yet{said}.") from None
        raise StoredImageDamaged(f"The stored copy of video {video.id} is missing. This has "
                                 "been logged; tell the system administrator.") from None
    except (crypto.SealBroken, OSError) as exc:
        log.error("stored video %s (%s, %s) failed to open: %s", video.id, video.storage_key,
                  kind, exc)
        raise StoredImageDamaged(f"The stored copy of video {video.id} failed its integrity "
                                 "check and was not shown. This has been logged; tell the "
                                 "system administrator.") from None


def read_original(settings: Settings, video: Video) -> bytes:
    """The original clip, checked against its sha256 (never served: sampled in a worker)."""
    data = _open(settings, video, "original")
    if hashlib.sha256(data).hexdigest() != video.sha256:
        log.error("stored video %s decrypted but its sha256 differs", video.id)
        raise StoredImageDamaged(f"Video {video.id} does not match its recorded sha256.")
    return data


def read_derivative(settings: Settings, video: Video, kind: str) -> bytes:
    """The poster (JPEG) or preview (MP4): the only forms of a video ever served."""
    if kind not in DERIVATIVES:
        raise NotFound(f"A video has no {kind!r}.")
    return _open(settings, video, kind)


def store_derivative(session: Session, settings: Settings, video: Video, kind: str,
                     plain: bytes) -> None:
    """Seal the poster (stored with the frames) or the preview (made after they are matched)
    beside the original; kept only if the caller commits."""
    if kind not in DERIVATIVES:
        raise ValueError(f"a video has no {kind!r}")
    storage.store(session, settings, video.storage_key, kind,
                  crypto.seal(image_key(settings, video), plain, storage_key=video.storage_key,
                              kind=kind))


def clock(seconds: float | None) -> str:
    """A time in the clip as people say it: 0:07, 2:05, 1:02:03."""
    if seconds is None:
        return "?"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def link_frames(session: Session, post: EvidenceVideo) -> list[int]:
    """The video's sampled frames as evidence of the same post and account (a video sampled
    before this post of it was recorded: its frames follow it). Returns the frames' ids."""
    ids = []
    for frame in frames_of(session, post.video_id):
        ids.append(frame.image_id)
        held = session.exec(select(EvidenceImage.id).where(
            EvidenceImage.image_id == frame.image_id, EvidenceImage.post_url == post.post_url,
            EvidenceImage.account_id == post.account_id if post.account_id is not None
            else col(EvidenceImage.account_id).is_(None))).first()
        if held is None:
            session.add(EvidenceImage(
                image_id=frame.image_id, account_id=post.account_id, post_url=post.post_url,
                posted_at=post.posted_at, submitted_by=post.submitted_by,
                original_filename=f"{post.original_filename} at {clock(frame.t)}"[:255]))
    session.flush()
    return list(dict.fromkeys(ids))


def frames_of(session: Session, video_id: int) -> list[VideoFrame]:
    return list(session.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)
                             .order_by(col(VideoFrame.t))).all())


def get_video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound(f"There is no video {video_id}.")
    return video


def erase_videos(session: Session, settings: Settings, actor: Actor, *, video_ids: list[int],
                 now: datetime, reason: str, frames: bool = True) -> list[int]:
    """Crypto-erase videos: their keys now (and their copies in the backups' key parts once
    this commits, app/keyscrub.py), their files (original, poster, preview) once this
    commits, their posts marked erased, and (`frames`) every frame's image as images are
    erased. Returns the frames' image ids to erase (erased here when `frames`; the caller
    audits). Frames shared with a video still held are kept."""
    erased_frames: set[int] = set()
    destroyed: list[tuple[str, int | None]] = []
    for video_id in sorted(set(video_ids)):
        video = session.get(Video, video_id)
        if video is None or video.erased_at is not None:
            continue
        # as an erased image: the key and the digest go; size and length stay for the record
        video.wrapped_key, video.sha256, video.erased_at = b"", "", now
        session.add(video)
        destroyed.append((video.storage_key, video_id))
        storage.delete_on_commit(session, settings, video.storage_key, storage.VIDEO_KINDS)
        for link in session.exec(select(EvidenceVideo).where(
                EvidenceVideo.video_id == video_id, col(EvidenceVideo.erased_at).is_(None))):
            link.erased_at = now
            session.add(link)
        erased_frames |= {f.image_id for f in frames_of(session, video_id)}
    session.flush()
    keyscrub.queue(session, settings, actor, keyscrub.VIDEO, destroyed)
    still_held = set(session.exec(select(VideoFrame.image_id).join(
        Video, col(Video.id) == VideoFrame.video_id).where(
        col(VideoFrame.image_id).in_(erased_frames or {0}),
        col(Video.erased_at).is_(None))).all())
    doomed = sorted(erased_frames - still_held)
    if doomed and frames:
        erase_images(session, settings, actor, image_ids=doomed, now=now, reason=reason)
    return doomed
