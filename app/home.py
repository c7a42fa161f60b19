"""The landing page and the caller's own identity over the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.web import render

router = APIRouter()
Anyone = Annotated[Principal, Depends(requires(P.self_manage))]


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
