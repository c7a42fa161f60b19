"""Evidence pages: the display copy of an image.

Every display copy served is audited (and counted against the reader's budget): ids are
sequential, so an unaudited route would let anyone pull every image silently. There is no
route that serves an original. The intake form
is the one intake path's (accounts/pages_intake.py); the image page is matching's, which adds
the match candidates.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.deps import ImageDep
from app.evidence.errors import ImageWithdrawn
from app.evidence.images import read_display
from app.web.dates import local_day

router = APIRouter()

DISPLAY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/images/{image_id}/display")
def image_display(who: EvidenceReader, image: ImageDep, settings: SettingsDep,
                  db: SessionDep) -> Response:
    """The re-encoded, metadata-free JPEG; never the original. 410 once it was withdrawn."""
    if image.erased_at is not None:
        raise ImageWithdrawn(f"Image {image.id} was withdrawn on "
                             f"{local_day(image.erased_at, settings.local_timezone)}; "
                             "its key was destroyed and there is no copy to show.")
    data = read_display(settings, image)
    record(db, who.actor, "evidence.image.displayed", object_type="image",
           object_ids=[image.id or 0])
    return Response(data, media_type="image/jpeg", headers={
        **DISPLAY_HEADERS, "Content-Disposition": f'inline; filename="image-{image.id}.jpg"'})
