"""User management and sign-in. Services never commit; each change writes its audit event."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, col, func, select

from app.audit.service import Actor, record
from app.auth import apikeys, enrolment, factors, securitykeys, sessions
from app.auth.models import User, UserSession
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


def check_new_user(session: Session, username: str, role: str) -> str:
    """The normalised username, once it and the role are acceptable for a new user."""
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
    return username


def create_user(
    session: Session, actor: Actor, *, username: str, role: str, display_name: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user with a one-time password (returned once, changed at first sign-in).
    For the bootstrap admin and the demo; everyone else enrols with a code."""
    username = check_new_user(session, username, role)
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


def create_enrolling_user(
    session: Session, settings: Settings, actor: Actor, *, username: str, role: str,
    display_name: str = "", extra: dict[str, object] | None = None,
) -> tuple[User, str]:
    """Create a user who has no password yet, and the enrolment code with which they choose
    one and set up their authenticator (returned once, for whoever hands it over)."""
    username = check_new_user(session, username, role)
    user = User(username=username, display_name=display_name[:128], role=role,
                password_hash="", must_change_password=False)
    session.add(user)
    session.flush()
    record(session, actor, "user.create", object_type="user", object_ids=[user.id or 0],
           details={"username": username, "role": role, **(extra or {})})
    return user, enrolment.issue(session, settings, actor, user)


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
    user.locked_until = None  # the failure count goes back to 0 once the code is right
    if not factors.has_second_factor(session, user.id or 0):
        user.failed_logins = 0
    session.add(user)
    record(session, actor, "auth.login", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username})
    return user


def check_second_factor(
    session: Session, settings: Settings, actor: Actor, user: User, code: str
) -> str:
    """The second step of sign-in (or a step-up). Wrong codes count with wrong passwords
    toward the lockout, so that six digits cannot be guessed. Returns the method used."""
    method = factors.verify(session, settings, user, code)
    if method is None:
        # whoever guesses codes knows the password: their half-signed-in session ends too
        _failed(session, settings, actor, user, action="auth.factor", reason="wrong code",
                end_sessions=True)
        raise LoginFailed(factors.WRONG_CODE)
    user.failed_logins = 0
    session.add(user)
    record(session, actor, "auth.factor", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "method": method,
                    "recovery_codes_left": factors.recovery_codes_left(session, user.id or 0)})
    return method


def check_security_key(
    session: Session, settings: Settings, actor: Actor, user: User, row: UserSession,
    credential: dict[str, object],
) -> None:
    """A security key instead of the code, at sign-in or a step-up. A refused answer counts
    toward the lockout like a wrong code."""
    try:
        key = securitykeys.verify(session, settings, user, row, credential)
    except securitykeys.KeyRefused as exc:
        detail = exc.detail or {}
        _failed(session, settings, actor, user, action="auth.factor", end_sessions=True,
                reason=f"security key: {detail.get('reason', exc.message)}"[:300],
                extra={"method": "security key",
                       "credential_id": str(credential.get("id", ""))[:1400]})
        raise LoginFailed(exc.message) from None
    user.failed_logins = 0
    session.add(user)
    record(session, actor, "auth.factor", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "method": "security key",
                    "security_key": key.id, "credential_id": key.credential_id})


def _failed(session: Session, settings: Settings, actor: Actor, user: User, *, action: str,
            reason: str, end_sessions: bool = False,
            extra: dict[str, object] | None = None) -> None:
    user.failed_logins += 1
    record(session, actor, action, object_type="user", object_ids=[user.id or 0],
           outcome="failure", details={"username": user.username, "reason": reason,
                                       "consecutive_failures": user.failed_logins,
                                       **(extra or {})})
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
        user.failed_logins = 0
        details: dict[str, object] = {"username": user.username,
                                      "minutes": settings.login_lockout_minutes}
        if end_sessions:
            details["sessions_ended"] = sessions.end_all_for_user(session, user.id or 0)
        record(session, actor, "auth.lockout", object_type="user", object_ids=[user.id or 0],
               details=details)
    session.add(user)


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


def apply_role(session: Session, actor: Actor, user: User, role: str, *,
               extra: dict[str, object] | None = None) -> None:
    """Change a role now: the caller has checked that it takes nothing but away, or a second
    person approved it (app/auth/grants.py). Sessions end and API keys are revoked, so that
    nothing keeps the old role's rights or gains the new one's unseen."""
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
    revoked = apikeys.revoke_all_for_user(session, user.id or 0)
    record(session, actor, "user.set_role", object_type="user", object_ids=[user.id or 0],
           details={"from": old, "to": role, "sessions_ended": ended,
                    "api_access_revoked": revoked, **(extra or {})})


def set_active(session: Session, actor: Actor, user: User, active: bool) -> None:
    if user.id == actor.user_id and not active:
        raise Unprocessable("You cannot disable your own account.")
    user.is_active = active
    if active:
        user.locked_until = None
        user.failed_logins = 0
    session.add(user)
    ended = 0 if active else sessions.end_all_for_user(session, user.id or 0)
    revoked = 0 if active else apikeys.revoke_all_for_user(session, user.id or 0)
    record(session, actor, "user.enable" if active else "user.disable", object_type="user",
           object_ids=[user.id or 0],
           details={"sessions_ended": ended, "api_access_revoked": revoked})
