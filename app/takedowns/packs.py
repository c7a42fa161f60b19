"""The evidence pack sent with a takedown's first notice: display copies and a manifest.

Only the evidence images the drafter chose go in (takedown_image rows, always the account's
own: drafts.py checks that), the matched frames of each video cited among them; the manifest
names each cited video (and the video of each chosen frame) by its original's sha256. Reference
photos of cells never do, even when an evidence image matched one: the pack leaves the
service, and cell photos show the inside of a prison. For the same reason the chain of custody
lists who did what and when, with only a few plain facts from each event's details.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import profile_url_of
from app.audit.models import AuditEvent
from app.evidence.images import read_display
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, Video, VideoFrame
from app.settings import Settings
from app.takedowns.cited_videos import cited_ids
from app.takedowns.models import Takedown, TakedownImage

MANIFEST = "manifest.json"
MAX_IMAGES = 200
MAX_CUSTODY_EVENTS = 2000
# Event families that concern the handling of the evidence itself; matching, attribution and
# library events would reveal cells and prisoners, so they stay inside.
_CUSTODY_ACTIONS = ("evidence.", "account.", "takedown.")
_CUSTODY_DETAILS = ("sha256", "format", "byte_size", "platform", "handle", "from", "to")


@dataclass(frozen=True)
class Pack:
    data: bytes
    sha256: str
    filename: str
    manifest: dict[str, Any]


def reference(takedown: Takedown) -> str:
    return f"TD-{takedown.id}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def evidence_of(session: Session, account_id: int) -> list[tuple[EvidenceImage, Image]]:
    """The account's own evidence images, oldest first (never reference photos)."""
    return list(session.exec(
        select(EvidenceImage, Image).join(Image, col(Image.id) == col(EvidenceImage.image_id))
        .where(EvidenceImage.account_id == account_id)
        .order_by(col(EvidenceImage.submitted_at), col(EvidenceImage.id))
        .limit(MAX_IMAGES)).all())


def chosen_of(session: Session, takedown_id: int) -> list[tuple[EvidenceImage, Image]]:
    """The images chosen for this takedown, in the drafter's order."""
    return list(session.exec(
        select(EvidenceImage, Image)
        .join(TakedownImage, col(TakedownImage.evidence_id) == col(EvidenceImage.id))
        .join(Image, col(Image.id) == col(EvidenceImage.image_id))
        .where(TakedownImage.takedown_id == takedown_id)
        .order_by(col(TakedownImage.position), col(EvidenceImage.id))
        .limit(MAX_IMAGES)).all())


def _contains_id(ids_column: Any, value: int) -> Any:
    return ids_column.contains(json.dumps(str(value)))  # ids are a JSON list of strings


def custody(session: Session, takedown: Takedown, held: list[tuple[EvidenceImage, Image]],
            video_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Audit events concerning the account, its images and videos and this takedown, oldest
    first."""
    ids = col(AuditEvent.object_ids)
    about = [and_(col(AuditEvent.object_type) == "account",
                  _contains_id(ids, takedown.account_id)),
             and_(col(AuditEvent.object_type) == "takedown", _contains_id(ids, takedown.id or 0))]
    if video_ids:
        about.append(and_(col(AuditEvent.object_type) == "video",
                          or_(*[_contains_id(ids, v) for v in video_ids])))
    if held:
        about.append(and_(col(AuditEvent.object_type) == "image",
                          or_(*[_contains_id(ids, i.id or 0) for _, i in held])))
        about.append(and_(col(AuditEvent.object_type) == "evidence_image",
                          or_(*[_contains_id(ids, e.id or 0) for e, _ in held])))
    rows = session.exec(select(AuditEvent).where(or_(*about))
                        .order_by(col(AuditEvent.id)).limit(MAX_CUSTODY_EVENTS)).all()
    out = []
    for row in rows:
        if not row.action.startswith(_CUSTODY_ACTIONS):
            continue
        details = json.loads(row.details or "{}")
        out.append({
            "event_id": row.id, "at": row.occurred_at.isoformat(), "actor": row.actor_name,
            "action": row.action, "object_type": row.object_type,
            "object_ids": json.loads(row.object_ids or "[]"), "outcome": row.outcome,
            "details": {k: details[k] for k in _CUSTODY_DETAILS if k in details},
            "row_hash": row.row_hash,
        })
    return out


def _add(archive: zipfile.ZipFile, name: str, data: bytes, when: datetime,
         compress: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    archive.writestr(info, data)


def build_pack(session: Session, settings: Settings, takedown: Takedown, account: Account,
               now: datetime) -> Pack:
    """Zip of images/NN-<sha8>.jpg display copies and manifest.json (sha256 of originals)."""
    held = chosen_of(session, takedown.id or 0)
    clips, videos = _videos_of(session, [i.id or 0 for _, i in held],
                               cited_ids(session, takedown.id or 0), takedown.account_id)
    buffer = io.BytesIO()
    entries = []
    with zipfile.ZipFile(buffer, "w") as archive:
        for n, (evidence, image) in enumerate(held, start=1):
            entry: dict[str, Any] = {
                "number": n, "evidence_id": evidence.id, "image_id": image.id,
                "sha256": image.sha256, "format": image.format, "byte_size": image.byte_size,
                "width": image.width, "height": image.height,
                "post_url": evidence.post_url or None, "posted_at": iso(evidence.posted_at),
                "captured_at": iso(image.exif_taken_at), "submitted_at": iso(evidence.submitted_at),
                "file": None, "display_sha256": None, "erased": image.erased_at is not None,
            }
            if image.id in clips:
                entry["video_id"], entry["t"] = clips[image.id]
            if image.erased_at is None:
                display = read_display(settings, image)
                entry["file"] = f"images/{n:03d}-{image.sha256[:12]}.jpg"
                entry["display_sha256"] = hashlib.sha256(display).hexdigest()
                _add(archive, entry["file"], display, now, compress=False)
            entries.append(entry)
        manifest = {
            "reference": reference(takedown), "generated_at": now.isoformat(),
            "account": {"platform": account.platform, "handle": account.handle,
                        "url": profile_url_of(account.platform, account.handle),
                        "numeric_id": takedown.platform_account_id or None},
            "reason": takedown.reason, "legal_basis": takedown.legal_basis,
            "note": "sha256 is of each original as captured; files are re-encoded display "
                    "copies without metadata (display_sha256 is of the file in this pack).",
            "images": entries,
            # each cited video, and the video of each chosen frame: its original as captured
            "videos": videos,
            "chain_of_custody": custody(session, takedown, held,
                                        [v["video_id"] for v in videos]),
        }
        _add(archive, MANIFEST, json.dumps(manifest, indent=2).encode(), now, compress=True)
    data = buffer.getvalue()
    return Pack(data, hashlib.sha256(data).hexdigest(), f"{reference(takedown)}-evidence.zip",
                manifest)


def _videos_of(session: Session, image_ids: list[int], cited: list[int], account_id: int
               ) -> tuple[dict[int, tuple[int, float]], list[dict[str, Any]]]:
    """Which chosen images are frames of a video ({image: (video, t)}), and each cited video
    and each video of a chosen frame as the manifest lists it: the sha256 of its original as
    captured (never the file), the account's post of it, and whether the drafter cited it."""
    rows = session.exec(select(VideoFrame, Video).join(
        Video, col(Video.id) == VideoFrame.video_id)
        .where(col(VideoFrame.image_id).in_(image_ids or [0]))
        .order_by(col(VideoFrame.video_id), col(VideoFrame.t))).all()
    listed = {video.id or 0: video for _, video in rows}
    for video in session.exec(select(Video).where(col(Video.id).in_(cited or [0]))).all():
        listed.setdefault(video.id or 0, video)
    posts: dict[int, EvidenceVideo] = {}
    for post in session.exec(select(EvidenceVideo).where(
            col(EvidenceVideo.video_id).in_(list(listed) or [0]),
            EvidenceVideo.account_id == account_id).order_by(col(EvidenceVideo.id))).all():
        posts.setdefault(post.video_id, post)
    order = {v: n for n, v in enumerate(cited)}  # cited first, in the drafter's order
    videos: dict[int, dict[str, Any]] = {}
    for video_id in sorted(listed, key=lambda v: (order.get(v, len(order)), v)):
        video, post = listed[video_id], posts.get(video_id)
        videos[video_id] = {
            "video_id": video_id, "sha256": None if video.erased_at else video.sha256,
            "container": video.container, "codec": video.codec, "seconds": video.duration,
            "byte_size": video.byte_size, "file_created_at": iso(video.file_created_at),
            "post_url": (post.post_url or None) if post else None,
            "posted_at": iso(post.posted_at) if post else None,
            "cited": video_id in order, "erased": video.erased_at is not None, "frames": []}
    clips: dict[int, tuple[int, float]] = {}
    for frame, video in rows:
        clips.setdefault(frame.image_id, (video.id or 0, frame.t))
        videos[video.id or 0]["frames"].append({"image_id": frame.image_id, "t": frame.t})
    return clips, list(videos.values())


def withdrawn_in(session: Session, manifest: dict[str, Any]) -> list[int]:
    """Images whose picture the pack carries but which were withdrawn after it was made: such
    a pack must not leave the service again (a new one is made without them)."""
    ids = held_in(manifest)
    if not ids:
        return []
    return sorted(i for i in session.exec(select(Image.id).where(
        col(Image.id).in_(ids), col(Image.erased_at).is_not(None))).all() if i is not None)


def held_in(manifest: dict[str, Any]) -> list[int]:
    """The images whose display copy the pack carries."""
    return [e["image_id"] for e in manifest.get("images", []) if e.get("file")]


def manifest_of(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read(MANIFEST))
