"""Write audit events in the caller's transaction, and verify the chain."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from app.audit import budget, chain
from app.audit.models import AuditEvent, AuditHead
from app.db import utcnow
from app.errors import TooManyRequests

LINK_BATCH = 2000  # events linked per transaction

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


def link_hash(prev_hash: str, event: AuditEvent) -> str:
    """The unkeyed (version 1) link: what rows linked before migration 0014 carry."""
    return chain.plain_hash(prev_hash, event)


class ChainHeadInvalid(RuntimeError):
    """The head's signature does not hold: the chain was rewritten, or the key is not the one
    it was signed with. Linking stops rather than sign a rewritten history."""


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
    """Insert one event in the caller's transaction. Never commits, never waits on another
    writer: it commits or rolls back with the change it records, and the linker chains it
    once it is committed (`link_pending`)."""
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
    )
    session.add(event)
    session.flush()
    if action in budget.READ_ACTIONS and actor.user_id is not None:
        _charge(session, actor, action, event.object_ids)
    return event


def _charge(session: Session, actor: Actor, action: str, object_ids: str) -> None:
    """Count a read against the reader's budget, if the session carries one (requests do).
    Past it, the read is refused; the refusal is audited in a transaction of its own, since
    the request's own (this event with it) is rolled back."""
    given = session.info.get("read_budget")
    if not given:
        return
    limits = budget.Budget(given["per_hour"], given["per_day"])
    ids = json.loads(object_ids)
    try:
        budget.charge(session, actor.user_id or 0, max(1, len(ids)), limits, utcnow())
    except budget.OverBudget as over:
        details = {"budget": over.which, "limit": over.limit, "used": over.used,
                   "refused_action": action, "retry_after_seconds": over.retry_after}

        def refusal(own: Session) -> None:
            record(own, actor, budget.EXCEEDED_ACTION, object_type="user",
                   object_ids=[actor.user_id or 0], outcome="refused", details=details)

        given["regardless"](refusal)
        per = "hour" if over.which == "hour" else "24 hours"
        raise TooManyRequests(
            f"You have read {over.used} records in the last {per}, the most allowed is "
            f"{over.limit}. Try again in {over.retry_after // 60 + 1} minutes; the auditors "
            "have been told.", headers={"Retry-After": str(over.retry_after)}) from None


def link_pending(session: Session, *, key: bytes, limit: int = LINK_BATCH) -> int:
    """Give up to `limit` committed, unlinked events their place in the chain, oldest id first,
    each linked with the audit key (version 2).

    Called by one linker at a time (the chain's job lock); the head row is also locked, so a
    second linker started by mistake waits and then continues from the true head. A head whose
    signature does not hold is never extended (ChainHeadInvalid). Returns how many events
    were linked.
    """
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                        .execution_options(populate_existing=True)).one()
    if not chain.same(head.mac, chain.head_mac(key, head.last_seq, head.last_hash,
                                               head.keyed_from)):
        raise ChainHeadInvalid("the audit chain's head is not signed with this audit key; "
                               "run `cellwatch audit verify`")
    rows = session.exec(select(AuditEvent).where(col(AuditEvent.seq).is_(None))
                        .order_by(col(AuditEvent.id)).limit(limit)).all()
    if not rows:
        return 0
    seq, prev = head.last_seq, head.last_hash
    links = []
    for row in rows:
        seq += 1
        digest = chain.keyed_hash(key, prev, seq, row)
        links.append({"id": row.id, "seq": seq, "prev_hash": prev, "row_hash": digest,
                      "hash_version": chain.KEYED})
        prev = digest
    _write_links(session, links)
    session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(
        last_seq=seq, last_hash=prev, mac=chain.head_mac(key, seq, prev, head.keyed_from)))
    session.expire_all()  # the rows read above are stale now
    return len(rows)


def _write_links(session: Session, links: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(AuditEvent), links)  # by primary key, one statement
        return
    # The app's role may not UPDATE audit_event: the owner's function writes the links, and
    # only into rows not linked yet (migration 0014).
    session.execute(text("SELECT audit_link_events(:ids, :seqs, :prevs, :hashes, :versions)"),
                    {"ids": [x["id"] for x in links], "seqs": [x["seq"] for x in links],
                     "prevs": [x["prev_hash"] for x in links],
                     "hashes": [x["row_hash"] for x in links],
                     "versions": [x["hash_version"] for x in links]})


@dataclass(frozen=True)
class Lag:
    """Committed events still waiting for their place in the chain."""

    unlinked: int
    oldest_at: datetime | None

    def seconds(self, now: datetime) -> float:
        return 0.0 if self.oldest_at is None else max(0.0, (now - self.oldest_at).total_seconds())


def lag(session: Session) -> Lag:
    count, oldest = session.exec(select(func.count(col(AuditEvent.id)),
                                        func.min(AuditEvent.occurred_at))
                                 .where(col(AuditEvent.seq).is_(None))).one()
    if oldest is not None and oldest.tzinfo is None:  # aggregates skip the column type
        oldest = oldest.replace(tzinfo=UTC)
    return Lag(int(count or 0), oldest)


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
