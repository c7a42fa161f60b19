"""Retention of the audit log: prune the oldest events, leaving a signed anchor.

The chain is verified first (with the key and the auditor's latest checkpoint): a prune never
signs an anchor over history that was already rewritten. The events pruned are a prefix of the
chain (seq 1..S, all older than the cutoff) whose ids are all below every id kept, so that
`audit verify` walks from the anchor and checks for id gaps above the largest id pruned. The
anchor (seq S, its hash, that id) is signed with the audit key: without the key nobody can move
it to hide removed events.

On PostgreSQL only the tables' owner may delete (CELLWATCH_MIGRATE_DATABASE_URL); the app's role
holds no DELETE on audit_event. On both databases the triggers let only linked events at or
below the anchor go (migration 0016). The caller holds the chain's lock and owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, or_, select

from app.audit import chain
from app.audit.models import AuditEvent, AuditHead
from app.audit.service import Actor, record
from app.audit.verify import verify_chain


class PruneRefused(RuntimeError):
    """The chain does not verify: nothing is pruned, so the evidence of tampering stays."""


@dataclass(frozen=True)
class Pruned:
    events: int
    anchor_seq: int


def boundary(session: Session, head: AuditHead, before: datetime) -> int:
    """The largest S such that events anchor+1..S all occurred before `before` and every id
    among them is below every id not among them (late-linked and unlinked events included)."""
    newer = session.exec(select(func.min(AuditEvent.seq)).where(
        col(AuditEvent.seq) > head.anchor_seq, col(AuditEvent.occurred_at) >= before)).one()
    last = head.last_seq if newer is None else newer - 1
    while last > head.anchor_seq:
        kept_low = session.exec(select(func.min(AuditEvent.id)).where(
            or_(col(AuditEvent.seq) > last, col(AuditEvent.seq).is_(None)))).one()
        if kept_low is None:
            break
        clash = session.exec(select(func.min(AuditEvent.seq)).where(
            col(AuditEvent.seq) > head.anchor_seq, col(AuditEvent.seq) <= last,
            col(AuditEvent.id) > kept_low)).one()
        if clash is None:
            break
        last = clash - 1
    return max(last, head.anchor_seq)


def prune_audit(session: Session, actor: Actor, *, key: bytes, before: datetime,
                checkpoint: chain.Checkpoint | None) -> Pruned:
    """Delete the linked events older than `before` (as a prefix of the chain), move the
    anchor to the last of them and sign it; record how many, and where the chain now starts."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                        .execution_options(populate_existing=True)).one()
    checked = verify_chain(session, key=key, checkpoint=checkpoint)
    if not checked.ok:
        raise PruneRefused(f"the audit log does not verify (event {checked.broken_at}: "
                           f"{checked.reason}); nothing pruned")
    last = boundary(session, head, before)
    if last <= head.anchor_seq:
        return Pruned(0, head.anchor_seq)
    count, id_floor = session.exec(select(func.count(col(AuditEvent.id)),
                                          func.max(AuditEvent.id))
                                   .where(col(AuditEvent.seq) <= last)).one()
    anchor_hash = session.exec(select(AuditEvent.row_hash)
                               .where(AuditEvent.seq == last)).one() or ""
    floor = max(int(id_floor or 0), head.anchor_id)
    # recorded before the delete: its id is above every id pruned, whatever the database
    record(session, actor, "audit.pruned", object_type="audit_event",
           details={"events": int(count), "through_seq": last, "older_than":
                    before.isoformat(timespec="seconds")})
    session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(
        anchor_seq=last, anchor_hash=anchor_hash, anchor_id=floor,
        anchor_mac=chain.anchor_mac(key, last, anchor_hash, floor)))
    session.execute(delete(AuditEvent).where(col(AuditEvent.seq) <= last)
                    .execution_options(synchronize_session=False))
    session.expire_all()
    return Pruned(int(count), last)
