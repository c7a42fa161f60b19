"""A supervisor withdraws an evidence image from its page (form: reason and confirmation).

With matching because the image page is matching's (it shows the candidates) and because a
withdrawal settles the image's candidates (app/matching/withdrawal.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import SettingsDep
from app.auth.guards import Withdrawer
from app.db import SessionDep
from app.errors import AppError, Unprocessable
from app.evidence.deps import ImageDep
from app.evidence.models import Image
from app.evidence.presenters import image_detail
from app.evidence.withdrawal import REASON_MAX
from app.matching.presenters import candidates_context
from app.matching.queue import Policy
from app.matching.withdrawal import withdraw
from app.settings import Settings
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def _image_page(request: Request, db: Session, settings: Settings, image: Image, *,
                error: str = "", form: dict[str, str] | None = None,
                status: int = 200) -> Response:
    """The image page again, with why the withdrawal was refused and what was typed."""
    tz = settings.local_timezone
    return render(request, "evidence/image.html",
                  {**image_detail(db, image, tz), **candidates_context(db, image.id or 0, tz,
                                                                    Policy.of(settings)),
                   "withdraw_error": error, "withdraw_form": form or {}}, status_code=status)


@router.post("/images/{image_id}/withdraw")
def withdraw_form(
    request: Request, who: Withdrawer, image: ImageDep, db: SessionDep, settings: SettingsDep,
    reason: Annotated[str, Form(max_length=REASON_MAX * 2)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        if confirm != "yes":
            raise Unprocessable("Tick the box to confirm: the image cannot be brought back.")
        withdraw(db, settings, who.actor, image=image, reason=reason)
    except AppError as exc:
        return refused(db, exc, _image_page, request, db, settings, image,
                       form={"reason": reason})
    flash(db, who, f"Image {image.id} was withdrawn: its key was destroyed and its files "
                   "deleted. Pending matches left the review queue.")
    return RedirectResponse(f"/images/{image.id}", status_code=303)
