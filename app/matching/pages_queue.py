"""The second-stage queue for supervisors: depth and age, claims held by match workers, stages
failed for good with their reasons, and retrying them (audited); and how many videos wait to
be sampled, and how many clip passes to be run, by the same workers (each failed one listed,
queued again from its video's page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import SettingsDep
from app.auth.guards import MatchOperator
from app.db import SessionDep, utcnow
from app.errors import AppError, Unprocessable
from app.matching import queue
from app.matching.jobs import ring_when_committed
from app.matching.video_retry import failed_videos
from app.settings import Settings
from app.web import render
from app.web.dates import local_time
from app.web.flash import flash
from app.web.forms import refused
from app.web.numbers import whole_number

router = APIRouter()
FAILED_SHOWN = 100


def _seconds(delta: Any) -> int:
    return max(0, round(delta.total_seconds()))


def _page(request: Request, db: Session, settings: Settings, *, error: str = "",
          status: int = 200) -> Response:
    now, policy, tz = utcnow(), queue.Policy.of(settings), settings.local_timezone
    depth = queue.backlog(db, now, policy)
    videos = queue.backlog(db, now, policy, queue.SAMPLINGS)
    running = [{"image_id": r.image_id, "attempt": r.attempts, "worker": r.claimed_by or "?",
                "for": _seconds(now - r.claimed_at) if r.claimed_at else 0,
                "lease_left": _seconds(r.claimed_at + policy.lease - now) if r.claimed_at else 0}
               for r in queue.running(db, now, policy)]
    failed = [{"image_id": r.image_id, "attempts": r.attempts, "reason": r.error,
               "at": local_time(r.failed_at, tz)} for r in queue.failed(db, FAILED_SHOWN)]
    failed_clips = [{"video_id": v.id, "attempts": v.attempts, "reason": v.error,
                     "at": local_time(v.failed_at, tz)} for v in failed_videos(db, FAILED_SHOWN)]
    passes = queue.backlog(db, now, policy, queue.CLIPS)
    running += [{"video_id": r.video_id, "attempt": r.attempts, "worker": r.claimed_by or "?",
                 "for": _seconds(now - r.claimed_at) if r.claimed_at else 0,
                 "lease_left": _seconds(r.claimed_at + policy.lease - now) if r.claimed_at
                 else 0} for r in queue.running(db, now, policy, queue.CLIPS)]
    failed_passes = [{"video_id": r.video_id, "attempts": r.attempts, "reason": r.error,
                      "at": local_time(r.failed_at, tz)}
                     for r in queue.failed(db, FAILED_SHOWN, queue.CLIPS)]
    return render(request, "matching/queue.html", {
        "depth": depth, "oldest": _seconds(now - depth.oldest_at) if depth.oldest_at else 0,
        "videos": videos,
        "videos_oldest": _seconds(now - videos.oldest_at) if videos.oldest_at else 0,
        "passes": passes,
        "passes_oldest": _seconds(now - passes.oldest_at) if passes.oldest_at else 0,
        "policy": policy, "running": running, "failed": failed, "failed_videos": failed_clips,
        "failed_passes": failed_passes,
        "error": error},
        status_code=status)


@router.get("/matching/queue")
def queue_page(request: Request, who: MatchOperator, db: SessionDep,
               settings: SettingsDep) -> Response:
    return _page(request, db, settings)


@router.post("/matching/queue/retry")
def retry(request: Request, who: MatchOperator, db: SessionDep, settings: SettingsDep,
          tasks: BackgroundTasks, image_id: Annotated[str, Form(max_length=20)] = "",
          everything: Annotated[str, Form(alias="all", max_length=5)] = "") -> Response:
    try:
        if everything:
            again = queue.retry_failed(db, who.actor, None)
        elif (number := whole_number(image_id)) is not None:
            again = queue.retry_failed(db, who.actor, [number])
        else:
            raise Unprocessable("Say which image's second stage to run again.")
    except AppError as exc:
        return refused(db, exc, _page, request, db, settings)
    if again:
        ring_when_committed(tasks, request.app.state)
    flash(db, who, f"{len(again)} failed second stage{'' if len(again) == 1 else 's'} "
          "queued again.")
    return RedirectResponse("/matching/queue", status_code=303)
