"""Evidence pages: the intake form and the display copy of an image.

Serving a display copy is not audited per fetch (a list of thumbnails would flood the log);
the pages that show images are. There is no route that serves an original. Taking images in
(POST /intake) and the image page belong to matching, which adds the match candidates.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader, Submitter
from app.evidence.deps import ImageDep
from app.evidence.errors import ImageWithdrawn
from app.evidence.images import read_display
from app.evidence.presenters import intake_page
from app.web import render

router = APIRouter()

DISPLAY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/intake")
def intake_form(request: Request, settings: SettingsDep, who: Submitter) -> Response:
    return render(request, "evidence/intake.html", intake_page(settings))


@router.get("/images/{image_id}/display")
def image_display(who: EvidenceReader, image: ImageDep, settings: SettingsDep) -> Response:
    """The re-encoded, metadata-free JPEG; never the original. 410 once it was withdrawn."""
    if image.erased_at is not None:
        raise ImageWithdrawn(f"Image {image.id} was withdrawn on {image.erased_at:%Y-%m-%d}; "
                             "its key was destroyed and there is no copy to show.")
    data = read_display(settings, image)
    return Response(data, media_type="image/jpeg", headers={
        **DISPLAY_HEADERS, "Content-Disposition": f'inline; filename="image-{image.id}.jpg"'})
