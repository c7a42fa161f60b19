"""A video's served forms: its poster (JPEG) and its preview (a short, silent, metadata-free
MP4). Never the original. Each one served is audited, as an image's display copy is."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.errors import ImageWithdrawn
from app.evidence.models import Video
from app.evidence.videos import get_video, read_derivative
from app.web.dates import local_day

router = APIRouter()
MEDIA = {"poster": ("image/jpeg", "jpg"), "preview": ("video/mp4", "mp4")}
# as an image's display copy (evidence/pages.py): never cached, never sniffed as anything else
DISPLAY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _serve(who: EvidenceReader, video: Video, kind: str, settings: SettingsDep,
           db: SessionDep) -> Response:
    if video.erased_at is not None:
        raise ImageWithdrawn(f"Video {video.id} was erased on "
                             f"{local_day(video.erased_at, settings.local_timezone)}; its key "
                             "was destroyed and there is no copy to show.")
    data = read_derivative(settings, video, kind)
    record(db, who.actor, "evidence.video.displayed", object_type="video",
           object_ids=[video.id or 0], details={"form": kind})
    media, ext = MEDIA[kind]
    name = f"video-{video.id}-{kind}.{ext}"
    return Response(data, media_type=media, headers={
        **DISPLAY_HEADERS, "Content-Disposition": f'inline; filename="{name}"'})


@router.get("/videos/{video_id}/poster")
def video_poster(who: EvidenceReader, video_id: int, settings: SettingsDep,
                 db: SessionDep) -> Response:
    """The clip's most detailed sampled frame as a metadata-free JPEG."""
    return _serve(who, get_video(db, video_id), "poster", settings, db)


@router.get("/videos/{video_id}/preview")
def video_preview(who: EvidenceReader, video_id: int, settings: SettingsDep,
                  db: SessionDep) -> Response:
    """At most 10 s, 480 px, no sound and no metadata, re-encoded: never the original."""
    return _serve(who, get_video(db, video_id), "preview", settings, db)
