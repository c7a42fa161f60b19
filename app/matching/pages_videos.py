"""The video page: the clip's poster with a play control for its preview, its sampling, the
posts it came from, and each frame that matched, side by side with what it matched and its
time in the clip. Deciding on a frame's match is deciding on an image's (a frame is one).
It says where the clip pass is (waiting for the frames, queued, running, failed with its
reason, done). A supervisor queues a video whose sampling, or clip pass, failed again from here
(with a reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import EvidenceReader, MatchOperator
from app.auth.permissions import Permission as P
from app.db import SessionDep, utcnow
from app.errors import AppError
from app.evidence.video_presenters import clock, posts_of
from app.evidence.videos import frames_of, get_video
from app.matching.clip_passes import clip_state
from app.matching.jobs import after_answer
from app.matching.presenters import candidates_context
from app.matching.previews import facts_with_preview
from app.matching.queue import Policy
from app.matching.video_retry import REASON_MAX, REASON_MIN, retry_video
from app.settings import Settings
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def _page(request: Request, db: Session, settings: Settings, who: Principal, video_id: int, *,
          error: str = "", form: dict[str, str] | None = None, status: int = 200) -> Response:
    tz, policy = settings.local_timezone, Policy.of(settings)
    video = get_video(db, video_id)
    frames = frames_of(db, video_id)
    matched, plain = [], 0
    for frame in frames:
        context = candidates_context(db, frame.image_id, tz, policy)
        if context["candidates"] or context["pending"]:
            matched.append({"at": clock(frame.t), "t": frame.t, "reason": frame.reason,
                            **context})
        else:
            plain += 1
    record(db, who.actor, "evidence.video.viewed", object_type="video", object_ids=[video_id],
           details={"frames": [f.image_id for f in frames]})
    return render(request, "matching/video.html", {
        "v": facts_with_preview(db, [video], tz, utcnow(), policy)[0],
        "posts": posts_of(db, video_id, tz), "matched": matched,
        "clip": clip_state(db, video_id, utcnow(), policy),
        "unmatched": plain, "frames": len(frames),
        "can_retry": who.can(P.matching_operate), "retry_error": error,
        "retry_form": form or {}, "reason_min": REASON_MIN, "reason_max": REASON_MAX},
        status_code=status)


@router.get("/videos/{video_id}")
def video_page(request: Request, who: EvidenceReader, video_id: int, db: SessionDep,
               settings: SettingsDep) -> Response:
    return _page(request, db, settings, who, video_id)


@router.post("/videos/{video_id}/retry")
def retry_video_form(request: Request, who: MatchOperator, video_id: int, db: SessionDep,
                     settings: SettingsDep, tasks: BackgroundTasks,
                     reason: Annotated[str, Form(max_length=REASON_MAX * 2)] = "") -> Response:
    try:
        again = retry_video(db, who.actor, video_id, reason)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return refused(db, exc, _page, request, db, settings, who, video_id,
                       form={"reason": reason})
    after_answer(tasks, request.app.state, who.actor, [], [video_id])
    said = {"sampling": f"Video {video_id} was queued again: a match worker samples it "
                        "shortly.",
            "clip_pass": f"Video {video_id}'s clip pass was queued again: a match worker runs "
                         "it shortly.",
            "preview": f"Video {video_id}'s preview was queued again: a match worker makes it "
                       "shortly."}
    flash(db, who, said[again.what])
    return RedirectResponse(f"/videos/{video_id}", status_code=303)
