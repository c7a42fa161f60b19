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


def complete_draft(evidence_ids: list[int], reason: str = "Photos from inside a cell, taunting "
                   "a victim.", **changes: Any) -> Any:
    """A draft with everything a platform needs, for these images."""
    from app.takedowns.drafts import Draft

    values: dict[str, Any] = {
        "reason": reason, "evidence_ids": tuple(evidence_ids),
        "legal_basis": "Prison Act 1952, section 40D: images sent from inside a prison.",
        "contact": "Digital investigations unit, du@prisons.example, 0300 000 0000",
        "good_faith": True, **changes}
    return Draft(**values)


def draft_for(session: Session, settings: Any, account_id: int, **changes: Any) -> Any:
    """Give an account without images one evidence image, and a complete draft of it."""
    from app.evidence.images import ingest_image
    from app.evidence.models import EvidenceImage
    from tests.conftest import TEST_ACTOR
    from tests.evidence import samples

    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg(seed=500 + account_id),
                            filename="post.jpg")
    evidence = EvidenceImage(image_id=image.id, account_id=account_id,
                             post_url=f"https://www.instagram.com/p/Acct{account_id}/")
    session.add(evidence)
    session.flush()
    return complete_draft([evidence.id or 0], **changes)


def draft_form(evidence_ids: list[int], csrf: str, **changes: Any) -> dict[str, Any]:
    """The draft form as a person fills it in."""
    draft = complete_draft(evidence_ids)
    form: dict[str, Any] = {
        "evidence_ids": [str(i) for i in evidence_ids], "reason": draft.reason,
        "legal_basis": draft.legal_basis, "contact": draft.contact, "good_faith": "yes",
        "platform_account_id": "", "csrf_token": csrf}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def api_draft(world: Any, **changes: Any) -> dict[str, Any]:
    """The JSON body of a complete draft of every image of the world's account."""
    draft = complete_draft([e.id for e in world.evidence])
    return {"evidence_ids": list(draft.evidence_ids), "reason": draft.reason,
            "legal_basis": draft.legal_basis, "contact": draft.contact, "good_faith": True,
            **changes}
