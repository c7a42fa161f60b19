"""Platforms page: every platform's channel, cadence, target time and notice template."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.platforms import display_name_of
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import PlatformEditor, TakedownReader
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.takedowns import notice_text
from app.takedowns.channels import CHANNELS, list_platforms, update_platform
from app.takedowns.deps import PlatformDep
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def platforms_page(request: Request, db: Session, who: Principal, *, error: str = "",
                   failed: str = "", form: dict[str, Any] | None = None,
                   status: int = 200) -> Response:
    rows = []
    for row in list_platforms(db):
        values = form if failed == row.platform and form else {
            "channel": row.channel, "address": row.address,
            "renotice_hours": row.renotice_hours, "target_hours": row.target_hours,
            "template": row.template, "tells_holder": row.tells_holder,
            "tells_holder_note": row.tells_holder_note}
        rows.append({"platform": row.platform, "name": display_name_of(row.platform),
                     "saved": row in db, "values": values,
                     "error": error if failed == row.platform else ""})
    return render(request, "takedowns/platforms.html", {
        "rows": rows, "channels": CHANNELS, "can_edit": who.can(P.platforms_edit),
        "sample": notice_text.SAMPLE_CONTEXT, "error": error}, status_code=status)


@router.get("/takedowns/platforms")
def platforms(request: Request, db: SessionDep, who: TakedownReader) -> Response:
    return platforms_page(request, db, who)


@router.post("/takedowns/platforms/{name}")
def save_platform(request: Request, db: SessionDep, who: PlatformEditor, platform: PlatformDep,
                  settings: SettingsDep,
                  channel: Annotated[str, Form(max_length=16)],
                  renotice_hours: Annotated[int, Form()],
                  target_hours: Annotated[int, Form()],
                  address: Annotated[str, Form(max_length=512)] = "",
                  template: Annotated[str, Form(max_length=notice_text.MAX_TEMPLATE_CHARS)] = "",
                  tells_holder: Annotated[str, Form(max_length=8)] = "",
                  tells_holder_note: Annotated[str, Form(max_length=1000)] = "",
                  ) -> Response:
    name = platform.value
    form = {"channel": channel, "address": address, "renotice_hours": renotice_hours,
            "target_hours": target_hours, "template": template,
            "tells_holder": tells_holder == "yes", "tells_holder_note": tells_holder_note}
    try:
        update_platform(db, who.actor, name, settings=settings, **form)
    except AppError as exc:  # a template error is a 422 naming the line; nothing is saved
        return refused(db, exc, platforms_page, request, db, who, failed=name, form=form)
    flash(db, who, f"{display_name_of(name)} settings were saved.")
    return RedirectResponse(f"/takedowns/platforms#{name}", status_code=303)
