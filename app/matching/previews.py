"""A video's preview (the short, silent, metadata-free MP4 its page plays), made by the match
workers as a job of its own (queue.PREVIEWS) once the video is sampled.

Why not in the sampling's decode, as before: the preview is for an analyst to recognise the
clip, matching is what they wait for. Encoding it there made every clip's frames wait about
half a second more; now the workers take previews last, in a decoding child at a lower CPU
priority still, so the frames' second stages and the clip pass have the cores first. The
page shows the poster until the preview is stored, and the reason if it failed for good.

A job as the others are: claimed with a lease, the sealed file stored in a unit of work that
checks the claim last (its fencing token), a failure kept and retried a bounded number of
times, a worker killed mid-job leaving nothing (the file is kept only if the unit commits).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import retryable, unit_of_work, unreachable, utcnow
from app.errors import AppError
from app.evidence import videos
from app.evidence.models import Video
from app.evidence.video_presenters import video_facts
from app.matching import queue
from app.matching.models import VideoPreview
from app.settings import Settings
from app.video import preview

log = logging.getLogger("cellwatch.matching")
# added to the worker's own niceness for the decoding child that makes a preview
PREVIEW_NICENESS = 9


class LostClaim(Exception):
    """This attempt's claim lapsed and was taken by a newer one: its work is dropped."""


def _held(session: Session, video_id: int) -> Video | None:
    """The video unless erased; FOR SHARE, so that an erasure waits for this commit (and then
    deletes the preview with the rest) rather than the file outliving its key."""
    return session.exec(select(Video).where(col(Video.id) == video_id,
                                            col(Video.erased_at).is_(None))
                        .with_for_update(read=True)).first()


def run_preview(factory: Callable[[], Session], actor: Actor, taken: queue.Claim,
                policy: queue.Policy = queue.DEFAULT, *, settings: Settings) -> bool:
    """One claimed video's preview: encoded with no transaction open, then sealed and stored
    (audited). A failure is recorded, never raised (but a database gone away is, for the
    caller to give the claim back). Returns whether this attempt stored it."""
    try:
        with factory() as session:
            video = session.get(Video, taken.image_id)
            if video is None or video.erased_at is not None:
                return False
        data = videos.read_original(settings, video)  # detached: its columns are loaded
        clip = preview(data, f"video {video.id}", settings.video_caps, settings.video_limits,
                       niceness=PREVIEW_NICENESS)
        with unit_of_work(factory) as session:
            held = _held(session, taken.image_id)
            if held is None:
                return False
            videos.store_derivative(session, settings, held, "preview", clip)
            if not queue.still_mine(session, taken, on=queue.PREVIEWS):
                raise LostClaim
            session.execute(update(VideoPreview)
                            .where(col(VideoPreview.video_id) == taken.image_id)
                            .values(done_at=utcnow()))
            record(session, actor, "evidence.video.previewed", object_type="video",
                   object_ids=[taken.image_id], details={"bytes": len(clip)})
        return True
    except LostClaim:
        log.warning("preview of video %s: claim %d lapsed and was taken again; dropped",
                    taken.image_id, taken.attempt)
        return False
    except Exception as exc:  # noqa: BLE001 - nobody to raise to: the reason is kept instead
        if isinstance(exc, SQLAlchemyError) and (unreachable(exc) or retryable(exc)):
            raise
        reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
        log.warning("preview of video %s failed: %s", taken.image_id, reason)
        with unit_of_work(factory) as session:
            queue.record_failed_attempt(session, actor, taken, reason, utcnow(), policy,
                                        on=queue.PREVIEWS)
        return False


def preview_job(factory: Callable[[], Session], actor: Actor, video_ids: Iterable[int],
                policy: queue.Policy = queue.DEFAULT, *, settings: Settings,
                worker: str = "") -> None:
    """After the matching (no match workers): claim and make each of these videos' previews."""
    for video_id in dict.fromkeys(video_ids):
        with unit_of_work(factory) as session:
            taken = queue.claim(session, video_id, utcnow(), worker, policy,
                                on=queue.PREVIEWS)
        if taken is not None:
            run_preview(factory, actor, taken, policy, settings=settings)


def give_up_lapsed(factory: Callable[[], Session], actor: Actor,
                   policy: queue.Policy = queue.DEFAULT) -> list[int]:
    """Previews whose every attempt's worker died: failed, with that reason (audited)."""
    with unit_of_work(factory) as session:
        return queue.record_lapsed(session, actor, utcnow(), policy, on=queue.PREVIEWS)


@dataclass(frozen=True)
class PreviewState:
    """state: none (not sampled yet) | waiting | running | retrying | failed | done."""

    state: str
    attempts: int = 0
    error: str = ""

    @property
    def waiting(self) -> bool:
        return self.state in ("waiting", "running", "retrying")


def preview_states(session: Session, video_ids: Iterable[int], now: datetime,
                   policy: queue.Policy = queue.DEFAULT) -> dict[int, PreviewState]:
    """Each video's preview as pages show it (one query for them all)."""
    ids = list(dict.fromkeys(video_ids))
    rows = {r.video_id: r for r in session.exec(select(VideoPreview).where(
        col(VideoPreview.video_id).in_(ids))).all()} if ids else {}
    out = {}
    for video_id in ids:
        row = rows.get(video_id)
        out[video_id] = PreviewState("none") if row is None else _state(row, now, policy)
    return out


def _state(row: VideoPreview, now: datetime, policy: queue.Policy) -> PreviewState:
    if row.done_at is not None:
        return PreviewState("done", row.attempts)
    if row.failed_at is not None:
        return PreviewState("failed", row.attempts, row.error)
    claimed = row.claimed_at
    if claimed is not None and claimed >= now - policy.lease:
        return PreviewState("running", row.attempts, row.error)
    return PreviewState("retrying" if row.error else "waiting", row.attempts, row.error)


def facts_with_preview(session: Session, shown: list[Video], tz: str, now: datetime | None = None,
                       policy: queue.Policy = queue.DEFAULT) -> list[dict[str, Any]]:
    """`video_facts` of each video, its preview's state included (one query for them all)."""
    states = preview_states(session, [v.id or 0 for v in shown], now or utcnow(), policy)
    return [video_facts(v, tz, states[v.id or 0].state, states[v.id or 0].error) for v in shown]

