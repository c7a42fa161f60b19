"""The landing page and the caller's own identity over the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.auth.guards import Anyone
from app.web import render

router = APIRouter()


class Me(BaseModel):
    id: int
    username: str
    role: str
    permissions: list[str]


@router.get("/")
def home(request: Request, who: Anyone) -> Response:
    return render(request, "home.html")


@router.get("/api/v1/me")
def me(who: Anyone) -> Me:
    return Me(id=who.user.id or 0, username=who.user.username, role=who.user.role,
              permissions=sorted(who.permissions))
