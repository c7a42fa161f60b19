"""The landing page: what needs doing now for the signed-in role, and today's figures; and the
caller's own identity over the API.

Every figure is one COUNT over an indexed range (status or state first, then a time), so the
page costs a few index lookups however large the estate grows. Counts only: no name, handle or
prison number appears, so showing them reads no personal data (nothing to audit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import exists
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from app.accounts.models import Account, Attribution, AttributionStatus
from app.accounts.presenters import CLOSED_STATUSES
from app.audit import budget
from app.auth import throttle
from app.auth.deps import Principal, SettingsDep
from app.auth.grants import APPROVER_ROLE
from app.auth.guards import Anyone
from app.auth.models import GrantProposal
from app.auth.permissions import Permission as P
from app.cellsearch.models import CellSearch
from app.db import SessionDep, utcnow
from app.evidence.models import Image, Video, VideoFrame
from app.matching import queue
from app.matching.models import Match
from app.takedowns.machine import State
from app.takedowns.models import Takedown
from app.web import render
from app.web.dates import day_start, local_today

router = APIRouter()

WAITING_ON_PLATFORM = (State.sent.value, State.acknowledged.value)


class Me(BaseModel):
    id: int
    username: str
    role: str
    permissions: list[str]


@dataclass(frozen=True)
class Figure:
    """One count on the home page, with the list that shows the same rows."""

    label: str
    count: int
    href: str
    urgent: bool = False  # shown as needing attention when above zero


def _count(db: Session, model: Any, *where: ColumnElement[bool] | bool) -> int:
    return int(db.exec(select(func.count()).select_from(model).where(*where)).one() or 0)


def to_do(db: Session, who: Principal, now: datetime) -> list[Figure]:
    """What this person could act on now; each only for a role that may see its list."""
    me, out = who.user.id or 0, []
    if who.can(P.matches_review):
        out.append(Figure("Matches to review", _count(db, Match, col(Match.status) == "pending"),
                          "/review"))
    if who.can(P.attribution_confirm):
        out.append(Figure("Attribution suggestions to confirm", _count(
            db, Attribution, col(Attribution.status) == AttributionStatus.suggested.value),
            "/accounts?status=open&attribution=suggested"))
    if who.can(P.accounts_read):
        out.append(Figure("Open accounts assigned to me", _count(
            db, Account, col(Account.assignee_id) == me,
            col(Account.status).not_in(CLOSED_STATUSES)), "/accounts?status=open&assignee=me"))
    if who.can(P.takedowns_approve):
        out.append(Figure("Takedowns awaiting my approval", _count(
            db, Takedown, col(Takedown.state) == State.awaiting_approval.value,
            col(Takedown.author_id) != me),  # a second person approves: not one's own
            "/takedowns?state=awaiting_approval", urgent=True))
    if who.can(P.takedowns_read):
        out.append(Figure("Takedowns overdue at the platform", _count(
            db, Takedown, col(Takedown.state).in_(WAITING_ON_PLATFORM),
            col(Takedown.target_due_at) < now), "/takedowns", urgent=True))
    if who.can(P.searches_request):
        for state, label in (("requested", "Cell searches awaiting the prison"),
                             ("acknowledged", "Cell searches acknowledged, outcome awaited")):
            out.append(Figure(label, _count(db, CellSearch, col(CellSearch.state) == state),
                              f"/searches?state={state}"))
    if who.can(P.matching_operate):
        # second stages and video samplings failed for good: the queue page lists both
        failed = queue.backlog(db).failed + queue.backlog(db, on=queue.SAMPLINGS).failed
        out.append(Figure("Failed matching jobs", failed, "/matching/queue", urgent=True))
    if who.can(P.grants_approve):
        mine = [r.value for r, approver in APPROVER_ROLE.items() if approver == who.user.role]
        out.append(Figure("Access proposals for me to decide", _count(
            db, GrantProposal, col(GrantProposal.status) == "pending",
            col(GrantProposal.role).in_(mine), col(GrantProposal.proposed_by) != me),
            "/grants", urgent=True))
    return out


def today(db: Session, who: Principal, since: datetime) -> list[Figure]:
    """Today's figures (since local midnight): aggregates, for those who read the reports."""
    if not who.can(P.reports_read):
        return []
    return [
        Figure("Accounts taken in", _count(db, Account, col(Account.created_at) >= since), ""),
        # a video's sampled frames are images too, but they are counted as their video
        Figure("Images taken in", _count(db, Image, col(Image.created_at) >= since,
                                         ~exists().where(VideoFrame.image_id == Image.id)), ""),
        Figure("Videos taken in", _count(db, Video, col(Video.created_at) >= since), ""),
        Figure("Attributions confirmed", _count(
            db, Attribution, col(Attribution.status) == AttributionStatus.confirmed.value,
            col(Attribution.decided_at) >= since), ""),
        Figure("Accounts removed by platforms", _count(
            db, Takedown, col(Takedown.state) == State.removed.value,
            col(Takedown.resolved_at) >= since), ""),
        Figure("Cell searches requested", _count(
            db, CellSearch, col(CellSearch.requested_at) >= since), ""),
    ]


@router.get("/")
def home(request: Request, who: Anyone, db: SessionDep, settings: SettingsDep) -> Response:
    tz = settings.local_timezone
    now, day = utcnow(), local_today(tz)
    # admins are told of accounts locked by spread sign-in failures (usernames only)
    lockouts = throttle.recent_lockouts(db, now) if who.can(P.users_manage) else []
    # auditors, of readers who ran into a read budget (usernames only)
    exceeded = budget.recent_exceeded(db, now) if who.can(P.audit_read) else []
    return render(request, "home.html", {
        "to_do": to_do(db, who, now), "today": today(db, who, day_start(day, tz)), "day": day,
        "lockouts": lockouts, "exceeded": exceeded})


@router.get("/api/v1/me")
def me(who: Anyone) -> Me:
    return Me(id=who.user.id or 0, username=who.user.username, role=who.user.role,
              permissions=sorted(who.permissions))
