"""The video page: the clip's poster with a play control for its preview, its sampling, the
posts it came from, and each frame that matched, side by side with what it matched and its
time in the clip. Deciding on a frame's match is deciding on an image's (a frame is one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.video_presenters import clock, posts_of, video_facts
from app.evidence.videos import frames_of, get_video
from app.matching.presenters import candidates_context
from app.matching.queue import Policy
from app.web import render

router = APIRouter()


@router.get("/videos/{video_id}")
def video_page(request: Request, who: EvidenceReader, video_id: int, db: SessionDep,
               settings: SettingsDep) -> Response:
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
        "v": video_facts(video, tz), "posts": posts_of(db, video_id, tz), "matched": matched,
        "unmatched": plain, "frames": len(frames)})
