"""Server-side sessions: the cookie holds a random token; the table holds only its sha256."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.auth.models import User, UserSession
from app.db import utcnow
from app.settings import Settings

COOKIE_NAME = "cw_session"
# Refreshing last_seen on every request would write on every read; once a minute is enough.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, settings: Settings, user: User, *, client_addr: str, user_agent: str,
    replaces: str | None = None,
) -> str:
    """Begin a session at sign-in; the token it returns goes in the cookie and nowhere else."""
    if replaces:  # rotate: whatever session the browser had before sign-in ends now
        end(session, replaces)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(
        token_hash=token_hash(token), user_id=user.id or 0, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        client_addr=client_addr[:64], user_agent=user_agent[:255],
    ))
    session.flush()
    return token


def resolve(session: Session, settings: Settings,
            token: str) -> tuple[UserSession, User] | UserSession | None:
    """The live session and active user behind a cookie token; the bare row when it has
    expired (or its user is gone or disabled), for the caller to end; None when unknown."""
    row = session.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))
                       ).first()
    if row is None:
        return None
    now = utcnow()
    idle = timedelta(minutes=settings.session_idle_minutes)
    user = session.get(User, row.user_id)
    if row.expires_at <= now or row.last_seen_at + idle <= now or user is None \
            or not user.is_active:
        return row
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return row, user


def end(session: Session, token: str) -> bool:
    result = session.execute(delete(UserSession).where(
        col(UserSession.token_hash) == token_hash(token)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all_for_user(session: Session, user_id: int) -> int:
    result = session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def push_flash(row: UserSession, message: str, kind: str = "info") -> None:
    flashes = json.loads(row.flashes or "[]")[-4:]
    flashes.append({"kind": kind, "message": message[:300]})
    row.flashes = json.dumps(flashes)


def pop_flashes(session: Session, row: UserSession) -> list[dict[str, str]]:
    flashes = json.loads(row.flashes or "[]")
    if flashes:
        row.flashes = "[]"
        session.add(row)
    return flashes


def mark_factor(session: Session, row: UserSession) -> None:
    """The second factor was checked just now in this session (sign-in, or a step-up)."""
    stored = session.get(UserSession, row.id)
    if stored is not None:
        stored.factor_at = row.factor_at = utcnow()
        session.add(stored)
