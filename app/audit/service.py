"""Write audit events in the caller's transaction, and verify the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.models import GENESIS_HASH, AuditEvent, AuditHead

# Keys whose values never reach the log, whatever a caller passes.
_SECRET_WORDS = ("password", "secret", "token", "key", "cookie")


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where: taken from the request, a CLI call or a job."""

    user_id: int | None
    name: str
    client_addr: str = ""
    request_id: str = ""


SYSTEM = Actor(user_id=None, name="system")


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("[withheld]" if any(w in k.lower() for w in _SECRET_WORDS) else v)
        for k, v in details.items()
    }


def _content(event: AuditEvent) -> str:
    return json.dumps(
        {
            "occurred_at": event.occurred_at.isoformat(),
            "actor_id": event.actor_id,
            "actor_name": event.actor_name,
            "action": event.action,
            "object_type": event.object_type,
            "object_ids": event.object_ids,
            "purpose": event.purpose,
            "outcome": event.outcome,
            "client_addr": event.client_addr,
            "request_id": event.request_id,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def link_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_content(event)}".encode()).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_ids: Iterable[int | str] = (),
    purpose: str = "",
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Never commits: the caller's transaction carries it."""
    # Taking the head row's write lock first makes concurrent writers queue (PostgreSQL row
    # lock, SQLite database lock), so each reads the true last hash and the chain never forks.
    session.execute(update(AuditHead).where(col(AuditHead.id) == 1)
                    .values(last_id=AuditHead.last_id))
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)
                        .execution_options(populate_existing=True)).one()
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_name=actor.name[:64],
        action=action,
        object_type=object_type,
        object_ids=json.dumps([str(i) for i in object_ids]),
        purpose=purpose[:255],
        outcome=outcome,
        client_addr=actor.client_addr[:64],
        request_id=actor.request_id[:64],
        details=json.dumps(_scrub(details or {}), sort_keys=True, default=str),
        prev_hash=head.last_hash,
        row_hash="",
    )
    event.row_hash = link_hash(head.last_hash, event)
    session.add(event)
    session.flush()
    head.last_id = event.id or 0
    head.last_hash = event.row_hash
    session.add(head)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first row that was altered, removed or forged."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        rows: Sequence[AuditEvent] = session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > last_id)
            .order_by(col(AuditEvent.id)).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != prev:
                return VerifyResult(False, checked, row.id,
                                    "the previous link does not match: a row before it was "
                                    "removed or altered")
            if link_hash(prev, row) != row.row_hash:
                return VerifyResult(False, checked, row.id,
                                    "its content does not match its hash: it was altered")
            prev = row.row_hash
            last_id = row.id or 0
            checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id, head.last_hash) != (last_id, prev):
        return VerifyResult(False, checked, head.last_id,
                            "the chain ends before its recorded head: the newest rows were removed")
    return VerifyResult(True, checked)


@dataclass(frozen=True)
class EventFilter:
    actor_name: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def list_events(
    session: Session, flt: EventFilter, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if flt.actor_name:
        query = query.where(AuditEvent.actor_name == flt.actor_name)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.object_type:
        query = query.where(AuditEvent.object_type == flt.object_type)
    if flt.object_id:
        # ids are stored as a JSON list of strings; match the quoted element exactly
        query = query.where(col(AuditEvent.object_ids).contains(json.dumps(flt.object_id)))
    if flt.since:
        query = query.where(col(AuditEvent.occurred_at) >= flt.since)
    if flt.until:
        query = query.where(col(AuditEvent.occurred_at) < flt.until)
    if before_id:
        query = query.where(col(AuditEvent.id) < before_id)
    return list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit)).all())


def read_events(
    session: Session, actor: Actor, flt: EventFilter, *, limit: int = 100,
    before_id: int | None = None,
) -> tuple[list[AuditEvent], bool]:
    """One page of the log, newest first, and whether older events follow. Reading the log is
    itself audited: the event names the ids shown and the filter used."""
    rows = list_events(session, flt, limit=limit + 1, before_id=before_id)
    shown = rows[:limit]
    record(session, actor, "audit.read", object_type="audit_event",
           object_ids=[e.id or 0 for e in shown],
           details={k: v for k, v in vars(flt).items() if v})
    return shown, len(rows) > limit
