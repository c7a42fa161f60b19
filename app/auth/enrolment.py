"""Enrolment codes: how a new (or reset) user gets in without anyone else knowing a password.

A code is issued when a grant is approved (shown to the approver to hand over) or by the CLI
(printed on the terminal, never logged). With it, at /enrol, the user chooses a password and sets
up an authenticator; it works once and expires after settings.enrolment_hours.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.auth import factors
from app.auth.models import EnrolmentCode, User
from app.auth.passwords import hash_password, policy_problem
from app.db import utcnow
from app.errors import Unprocessable
from app.settings import Settings

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, none easily misread
NOT_VALID = ("This enrolment code is not valid: it may be mistyped, used already, or older "
             "than its time limit. Ask the person who gave it to you for a new one.")


def _hash(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode()).hexdigest()


def issue(session: Session, settings: Settings, actor: Actor, user: User) -> str:
    """A new code for `user` (100 bits, grouped for reading aloud); earlier ones stop working."""
    now = utcnow()
    session.execute(update(EnrolmentCode).where(
        col(EnrolmentCode.user_id) == user.id, col(EnrolmentCode.used_at).is_(None)
    ).values(used_at=now))
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    code = "-".join(raw[i:i + 4] for i in range(0, 20, 4))
    expires = now + timedelta(hours=settings.enrolment_hours)
    row = EnrolmentCode(user_id=user.id or 0, code_hash=_hash(raw), created_at=now,
                        expires_at=expires)
    session.add(row)
    session.flush()
    record(session, actor, "user.enrolment_issue", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "expires_at": expires.isoformat()})
    return code


def redeemable(session: Session, code: str) -> tuple[EnrolmentCode, User] | None:
    row = session.exec(select(EnrolmentCode).where(EnrolmentCode.code_hash == _hash(code))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return row, user


def begin(session: Session, settings: Settings, actor: Actor, code: str) -> tuple[User, str]:
    """Check the code and start an authenticator set-up; returns the user and its secret
    (the one already waiting, if the code was typed before: nothing changes then)."""
    found = redeemable(session, code)
    if found is None:
        raise Unprocessable(NOT_VALID)
    _, user = found
    # the code's holder acts as the user it was issued to, as in `finish`
    actor = Actor(user_id=user.id, name=user.username, client_addr=actor.client_addr,
                  request_id=actor.request_id)
    return user, factors.pending_secret(session, settings, user) or \
        factors.start_setup(session, settings, actor, user, via="enrolment")


def finish(
    session: Session, settings: Settings, actor: Actor, *, code: str, password: str,
    confirm: str, otp: str,
) -> tuple[User, list[str]]:
    """Set the password and the authenticator in one step; the code is spent. Returns the
    user and their recovery codes (shown once)."""
    found = redeemable(session, code)
    if found is None:
        raise Unprocessable(NOT_VALID)
    row, user = found
    if password != confirm:
        raise Unprocessable("The two passwords differ.")
    if problem := policy_problem(password, user.username):
        raise Unprocessable(problem)
    actor = Actor(user_id=user.id, name=user.username, client_addr=actor.client_addr,
                  request_id=actor.request_id)
    codes = factors.confirm_setup(session, settings, actor, user, otp)
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.password_changed_at = row.used_at = utcnow()
    user.failed_logins, user.locked_until = 0, None
    session.add_all([user, row])
    record(session, actor, "user.enrol", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "enrolment_code_id": row.id})
    return user, codes
