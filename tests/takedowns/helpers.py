"""Small helpers shared by the takedown tests."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.takedowns.models import Takedown, TakedownEvent
from tests.conftest import csrf_from, login


def factory_of(session: Session) -> Callable[[], Session]:
    """Sessions on the test's connection, like the app's: what a unit of work that follows the
    request's (a background task, a job step) opens."""
    bind = session.get_bind()
    return lambda: Session(bind=bind, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)


def sign_in(client: TestClient, user: User) -> TestClient:
    client.cookies.clear()
    return login(client, user.username)


def fresh(session: Session, takedown_id: int) -> Takedown:
    session.expire_all()
    found = session.get(Takedown, takedown_id)
    assert found is not None
    return found


def act(client: TestClient, session: Session, takedown_id: int, action: str,
        version: int | None = None, **fields: str) -> Any:
    """Post a transition form the way the takedown page does."""
    page = client.get(f"/takedowns/{takedown_id}")
    data = {"action": action, "csrf_token": csrf_from(page.text),
            "version": str(version if version is not None else
                           fresh(session, takedown_id).version), **fields}
    return client.post(f"/takedowns/{takedown_id}/transition", data=data,
                       follow_redirects=False)


def events_of(session: Session, takedown_id: int) -> list[TakedownEvent]:
    session.expire_all()
    return list(session.exec(select(TakedownEvent).where(
        TakedownEvent.takedown_id == takedown_id).order_by(col(TakedownEvent.id))).all())


def audits(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(col(AuditEvent.id))).all())


def details(event: AuditEvent) -> dict[str, Any]:
    return json.loads(event.details)


def unzip(data: bytes) -> tuple[dict[str, Any], list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("manifest.json")), archive.namelist()
