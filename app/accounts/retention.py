"""Retention of the accounts domain's own short-lived rows. Services never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from app.accounts.models import IdempotencyKey


def prune_idempotency_keys(session: Session, *, before: datetime) -> int:
    """Keys of API submissions made before `before`: past a client's retry window, a retry
    with the same key is a new submission."""
    result = session.execute(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
