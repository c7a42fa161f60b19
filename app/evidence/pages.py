"""Evidence pages: the display copy of an image.

Serving a display copy is not audited per fetch (a list of thumbnails would flood the log);
the pages that show images are. There is no route that serves an original. The intake form
is the one intake path's (accounts/pages_intake.py); the image page is matching's, which adds
the match candidates.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
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
def image_display(who: EvidenceReader, image: ImageDep, settings: SettingsDep) -> Response:
    """The re-encoded, metadata-free JPEG; never the original. 410 once it was withdrawn."""
    if image.erased_at is not None:
        raise ImageWithdrawn(f"Image {image.id} was withdrawn on "
                             f"{local_day(image.erased_at, settings.local_timezone)}; "
                             "its key was destroyed and there is no copy to show.")
    data = read_display(settings, image)
    return Response(data, media_type="image/jpeg", headers={
        **DISPLAY_HEADERS, "Content-Disposition": f'inline; filename="image-{image.id}.jpg"'})
