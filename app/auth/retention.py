"""Retention of the auth domain's records: what is kept only while it can still be used.

Each rule deletes rows past their time and returns how many; the caller (app/lifecycle)
records the counts in one audit event. Services never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from app.auth.models import ApiKey, EnrolmentCode, UserSession
from app.auth.throttle import LoginFailure


def _deleted(session: Session, statement: object) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[call-overload,attr-defined]


def prune_sessions(session: Session, *, ended_before: datetime) -> int:
    """Sessions that ended (expired, or idle past their limit) before `ended_before`."""
    return _deleted(session, delete(UserSession).where(
        or_(col(UserSession.expires_at) < ended_before,
            col(UserSession.last_seen_at) < ended_before)))


def prune_api_keys(session: Session, *, ended_before: datetime) -> int:
    """Keys revoked or expired before `ended_before` (live keys are never touched)."""
    return _deleted(session, delete(ApiKey).where(
        or_(col(ApiKey.revoked_at) < ended_before, col(ApiKey.expires_at) < ended_before)))


def prune_login_failures(session: Session, *, before: datetime) -> int:
    return _deleted(session, delete(LoginFailure).where(col(LoginFailure.at) < before))


def prune_enrolment_codes(session: Session, *, ended_before: datetime) -> int:
    """Codes used or expired before `ended_before`."""
    return _deleted(session, delete(EnrolmentCode).where(
        or_(col(EnrolmentCode.used_at) < ended_before,
            col(EnrolmentCode.expires_at) < ended_before)))
