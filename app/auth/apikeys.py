"""API keys: shown once, stored as sha256 (they are long random strings), always expiring."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from app.audit.service import Actor, record
from app.auth.models import ApiKey, User
from app.db import utcnow
from app.errors import NotFound, Unprocessable
from app.settings import Settings

PREFIX = "cwk_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(
    session: Session, settings: Settings, actor: Actor, user: User, *, name: str, days: int
) -> tuple[ApiKey, str]:
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise Unprocessable("Give the key a name of 1-64 characters.")
    if not 1 <= days <= settings.api_key_max_days:
        raise Unprocessable(f"A key lasts 1-{settings.api_key_max_days} days.")
    live = live_count(session, user.id or 0)
    if live >= settings.api_keys_per_user:
        raise Unprocessable(f"You have {live} live API keys, the most allowed: revoke one you no "
                       "longer use before making another.")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(user_id=user.id or 0, name=name, prefix=key[:12], key_hash=_hash(key),
                 expires_at=utcnow() + timedelta(days=days))
    session.add(row)
    session.flush()
    record(session, actor, "apikey.create", object_type="api_key", object_ids=[row.id or 0],
           details={"name": name, "days": days, "prefix": row.prefix})
    return row, key


def list_for(session: Session, user_id: int) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).where(ApiKey.user_id == user_id)
                             .order_by(col(ApiKey.created_at).desc())).all())


def live_count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(ApiKey).where(
        ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None),
        col(ApiKey.expires_at) > utcnow())).one()


def revoke_all_for_user(session: Session, user_id: int) -> int:
    """Revoke every live key of a user (role change, disabling, reset); returns how many.
    The caller's audit event names the reason and the count."""
    result = session.execute(update(ApiKey).where(
        col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None),
        col(ApiKey.expires_at) > utcnow()).values(revoked_at=utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke(session: Session, actor: Actor, user: User, key_id: int) -> None:
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such API key.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        record(session, actor, "apikey.revoke", object_type="api_key", object_ids=[key_id])


def resolve(session: Session, key: str) -> User | None:
    if not key.startswith(PREFIX):
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == _hash(key))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.must_change_password:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
        session.add(row)
    return user
