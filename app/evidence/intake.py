"""Evidence intake: a submission of one or many images captured from suspect accounts.

A submission is all-or-nothing: every file is checked first, and if any is refused the
whole submission is refused, naming every bad file, and nothing is stored. An analyst then
fixes or drops the bad files and sends the set again, with no half-submitted batch to untangle.

Routes take images in through the one intake path (accounts/intake.py `take_in`), which runs
check_files before its first write and store_checked after it. Each file is decoded once
(images.prepare, derive.decode).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import AppError, Unprocessable
from app.evidence import budget, images, videos
from app.evidence.errors import FileProblem, UploadRefused
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, Video
from app.evidence.validation import check_upload, clean_filename
from app.settings import Settings

MAX_FILES = 50


@dataclass(frozen=True)
class SubmittedFile:
    """One uploaded file as the caller received it; `filename` is shown, never used as a path."""

    filename: str
    data: bytes
    post_url: str = ""
    posted_at: datetime | None = None


@dataclass(frozen=True)
class IntakeResult:
    evidence: EvidenceImage
    image: Image
    created: bool  # False: the same bytes were already held (since image.created_at)
    new_link: bool  # False: this image was already recorded from the same post


def check_post(settings: Settings, url: str, posted_at: datetime | None,
               filename: str) -> tuple[str, datetime | None]:
    url = url.strip()
    if url:
        parts = urlsplit(url)
        if (parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048
                or any(ch.isspace() or ord(ch) < 32 for ch in url)):
            raise Unprocessable(f"The post URL for “{filename}” is not a web address "
                                "(http:// or https://).")
    if posted_at is not None:
        if posted_at.tzinfo is None:  # a time typed into a form is the unit's local time
            posted_at = posted_at.replace(tzinfo=ZoneInfo(settings.local_timezone))
        if posted_at > utcnow() + timedelta(days=1):
            raise Unprocessable(f"The post time for “{filename}” is in the future.")
    return url, posted_at


@dataclass(frozen=True)
class VideoResult:
    evidence: EvidenceVideo
    video: Video
    created: bool  # False: the same bytes were already held
    new_link: bool  # False: this video was already recorded from the same post


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, decoded and hashed, ready to store."""

    prepared: images.Prepared
    post_url: str
    posted_at: datetime | None


@dataclass(frozen=True)
class CheckedVideo:
    """A clip whose header passed every cap, ready to store and then be sampled."""

    prepared: videos.PreparedVideo
    post_url: str
    posted_at: datetime | None


def _check_decoding(settings: Settings, files: list[SubmittedFile]) -> None:
    """Refuse a submission whose pictures together would take too long to decode, before any
    of them is (a file that fails its own checks is left to them)."""
    sizes = []
    for item in files:
        try:
            facts = check_upload(item.data, clean_filename(item.filename), settings)
        except AppError:
            continue
        sizes.append(budget.decoded_size(facts.width, facts.height, facts.mode))
    budget.check_request(settings, sizes)


def check_files(session: Session, settings: Settings,
                files: list[SubmittedFile]) -> list[CheckedFile | CheckedVideo]:
    """Every check and the slow work (decoding, hashing) of a submission, writing
    nothing: callers do this before their first write, so that no transaction holds its
    locks (on SQLite, the one write lock) through it. Raises UploadRefused naming every bad
    file."""
    if not files:
        raise Unprocessable("Choose at least one image.")
    if len(files) > MAX_FILES:
        raise Unprocessable(f"{len(files)} files were sent; at most {MAX_FILES} at a time.")
    _check_decoding(settings, files)
    checked: list[CheckedFile | CheckedVideo] = []
    problems: list[FileProblem] = []
    for item in files:
        name = clean_filename(item.filename)
        try:
            url, posted_at = check_post(settings, item.post_url, item.posted_at, name)
            if videos.is_video(item.data, name):  # its header only, in a sandbox; sampled later
                checked.append(CheckedVideo(videos.prepare(settings, data=item.data,
                                                           filename=name), url, posted_at))
                continue
            # local features are left to the image's second stage (a match worker)
            prepared = images.prepare(session, settings, data=item.data, filename=name,
                                      features=False)
            checked.append(CheckedFile(prepared, url, posted_at))
        except AppError as exc:
            problems.append(FileProblem(name, exc.status_code, exc.message))
    if problems:
        raise UploadRefused(problems, total=len(files))
    return checked


def store_checked(session: Session, settings: Settings, actor: Actor,
                  checked: list[CheckedFile | CheckedVideo]) -> list[IntakeResult]:
    """Store a checked submission's images, all of them, with their audit event (its videos:
    store_videos)."""
    results = [_store_one(session, settings, actor, c.prepared, c.post_url, c.posted_at)
               for c in checked if isinstance(c, CheckedFile)]
    if not results:
        return []
    record(session, actor, "evidence.images.submitted", object_type="evidence_image",
           object_ids=[r.evidence.id or 0 for r in results],
           details={"files": [{"evidence_id": r.evidence.id, "image_id": r.image.id,
                               "sha256": r.image.sha256, "new_image": r.created,
                               "filename": r.evidence.original_filename} for r in results]})
    return results


def store_videos(session: Session, settings: Settings, actor: Actor,
                 checked: list[CheckedFile | CheckedVideo]) -> list[VideoResult]:
    """Seal and record a checked submission's videos, each waiting for a match worker to
    sample it (app/matching/sampling.py), with their audit event."""
    results = []
    for c in checked:
        if not isinstance(c, CheckedVideo):
            continue
        video, created = videos.store(session, settings, actor, c.prepared)
        evidence, new = videos.link_post(session, actor, video, filename=c.prepared.filename,
                                         url=c.post_url, posted_at=c.posted_at)
        results.append(VideoResult(evidence, video, created, new))
    if results:
        record(session, actor, "evidence.videos.submitted", object_type="evidence_video",
               object_ids=[r.evidence.id or 0 for r in results],
               details={"files": [{"evidence_id": r.evidence.id, "video_id": r.video.id,
                                   "sha256": r.video.sha256, "new_video": r.created,
                                   "filename": r.evidence.original_filename}
                                  for r in results]})
    return results


def submit_evidence(session: Session, settings: Settings, actor: Actor,
                    files: list[SubmittedFile]) -> list[IntakeResult]:
    """Check every file, then store them all, or raise UploadRefused and store nothing."""
    return store_checked(session, settings, actor, check_files(session, settings, files))


def _store_one(session: Session, settings: Settings, actor: Actor, prepared: images.Prepared,
               url: str, posted_at: datetime | None) -> IntakeResult:
    image, created = images.store(session, settings, actor, prepared)
    linked = session.exec(select(EvidenceImage).where(
        EvidenceImage.image_id == image.id, EvidenceImage.post_url == url)).first()
    if linked is not None:
        if linked.posted_at is None and posted_at is not None:
            linked.posted_at = posted_at
            session.add(linked)
        return IntakeResult(linked, image, created, new_link=False)
    evidence = EvidenceImage(image_id=image.id or 0, post_url=url, posted_at=posted_at,
                             original_filename=prepared.filename, submitted_by=actor.user_id)
    session.add(evidence)
    session.flush()
    return IntakeResult(evidence, image, created, new_link=True)


def add_evidence_images(session: Session, settings: Settings, actor: Actor,
                        files: list[SubmittedFile]) -> list[EvidenceImage]:
    """As submit_evidence, returning just the evidence rows."""
    return [r.evidence for r in submit_evidence(session, settings, actor, files)]
