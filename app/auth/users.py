"""User management and sign-in. Services never commit; each change writes its audit event."""

from __future__ import annotations

import re

from sqlmodel import Session, col, func, select

from app.audit.service import Actor, record
from app.auth import sessions
from app.auth.models import User
from app.auth.passwords import hash_password, one_time_password, policy_problem, verify_password
from app.auth.permissions import Role
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.settings import Settings

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
# One message for every failure, so that it never tells whether the user exists or is locked.
LOGIN_FAILED = "Sign-in failed: wrong username or password, or the account is locked for now."


class LoginFailed(Exception):
    pass


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def count_users(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


def create_user(
    session: Session, actor: Actor, *, username: str, role: str, display_name: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user with a one-time password (returned once, changed at first sign-in)."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Unprocessable("A username is 2-64 characters: lower-case letters, digits, . _ -, "
                            "starting with a letter.")
    try:
        Role(role)
    except ValueError:
        raise Unprocessable(f"Unknown role {role!r}; roles are "
                            f"{', '.join(r.value for r in Role)}.") from None
    if find_user(session, username):
        raise Conflict(f"A user named {username!r} already exists.")
    secret = password or one_time_password()
    if password and (problem := policy_problem(password, username)):
        raise Unprocessable(problem)
    user = User(username=username, display_name=display_name[:128], role=role,
                password_hash=hash_password(secret), must_change_password=True)
    session.add(user)
    session.flush()
    record(session, actor, "user.create", object_type="user", object_ids=[user.id or 0],
           details={"username": username, "role": role})
    return user, secret


def bootstrap_admin(session: Session, actor: Actor) -> str | None:
    """On a database with no users, create `admin` and return its one-time password."""
    if count_users(session):
        return None
    _, secret = create_user(session, actor, username="admin", role=Role.admin.value,
                            display_name="First administrator")
    return secret


def authenticate(
    session: Session, settings: Settings, actor: Actor, username: str, password: str
) -> User:
    user = find_user(session, username)
    now = utcnow()
    if user is None:
        verify_password(None, password)  # same work as for a real user
        record(session, actor, "auth.login", outcome="failure",
               details={"username": username[:64], "reason": "unknown user"})
        raise LoginFailed(LOGIN_FAILED)
    if not user.is_active or (user.locked_until and user.locked_until > now):
        verify_password(None, password)
        reason = "disabled" if not user.is_active else "locked"
        record(session, actor, "auth.login", object_type="user", object_ids=[user.id or 0],
               outcome="failure", details={"username": user.username, "reason": reason})
        raise LoginFailed(LOGIN_FAILED)
    if not verify_password(user.password_hash, password):
        # no lock here: app/auth/throttle.py throttles the address, and locks an account only
        # when many addresses fail on it, so that a stranger cannot lock its owner out
        user.failed_logins += 1
        record(session, actor, "auth.login", object_type="user", object_ids=[user.id or 0],
               outcome="failure", details={"username": user.username, "reason": "bad password",
                                           "consecutive_failures": user.failed_logins})
        session.add(user)
        raise LoginFailed(LOGIN_FAILED)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    record(session, actor, "auth.login", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username})
    return user


def change_password(
    session: Session, actor: Actor, user: User, *, current: str, new: str
) -> None:
    if not verify_password(user.password_hash, current):
        record(session, actor, "user.password_change", object_type="user",
               object_ids=[user.id or 0], outcome="failure",
               details={"reason": "current password wrong"})
        raise Unprocessable("The current password is not right.")
    if problem := policy_problem(new, user.username):
        raise Unprocessable(problem)
    if verify_password(user.password_hash, new):
        raise Unprocessable("The new password must differ from the current one.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.add(user)
    record(session, actor, "user.password_change", object_type="user", object_ids=[user.id or 0])


def set_role(session: Session, actor: Actor, user: User, role: str) -> None:
    try:
        Role(role)
    except ValueError:
        raise Unprocessable(f"Unknown role {role!r}.") from None
    if user.id == actor.user_id:
        raise Unprocessable("You cannot change your own role.")
    old = user.role
    user.role = role
    session.add(user)
    ended = sessions.end_all_for_user(session, user.id or 0)
    record(session, actor, "user.set_role", object_type="user", object_ids=[user.id or 0],
           details={"from": old, "to": role, "sessions_ended": ended})


def set_active(session: Session, actor: Actor, user: User, active: bool) -> None:
    if user.id == actor.user_id and not active:
        raise Unprocessable("You cannot disable your own account.")
    user.is_active = active
    if active:
        user.locked_until = None
        user.failed_logins = 0
    session.add(user)
    ended = 0 if active else sessions.end_all_for_user(session, user.id or 0)
    record(session, actor, "user.enable" if active else "user.disable", object_type="user",
           object_ids=[user.id or 0], details={"sessions_ended": ended})


def reset_password(session: Session, actor: Actor, user: User) -> str:
    secret = one_time_password()
    user.password_hash = hash_password(secret)
    user.must_change_password = True
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    ended = sessions.end_all_for_user(session, user.id or 0)
    record(session, actor, "user.reset_password", object_type="user", object_ids=[user.id or 0],
           details={"sessions_ended": ended})
    return secret
