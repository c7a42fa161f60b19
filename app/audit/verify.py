"""Check the audit chain, and write checkpoints of its head for an auditor to keep.

What is trusted: the audit key (outside the database) and the latest checkpoint (outside the
database, signed with the key). Everything in the database may have been rewritten by someone
with full access: rows deleted, edited, renumbered and re-hashed, triggers dropped, the head
moved. Each of these breaks a keyed link, the head's signature, or the checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app.audit import chain
from app.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from app.audit.service import Lag, lag


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_at: int | None = None  # the id of the first event found wrong
    reason: str = ""
    lag: Lag = Lag(0, None)
    checkpoint: chain.Checkpoint | None = None
    unused_ids: int = 0  # PostgreSQL: ids a rolled-back transaction took (never on SQLite)
    anchor_seq: int = 0  # where the chain starts: the events up to it were pruned by retention


def _broken(checked: int, row: AuditEvent | None, reason: str) -> VerifyResult:
    where = f"seq {row.seq}: " if row is not None else ""
    return VerifyResult(False, checked, row.id if row is not None else None, where + reason)


def verify_chain(session: Session, *, key: bytes, checkpoint: chain.Checkpoint | None = None,
                 batch: int = 5000) -> VerifyResult:
    """Walk the linked events in chain order; report the first one altered, removed, moved or
    re-hashed, a head that was moved or not signed with the key, and anything the checkpoint
    held that is gone. Also says how many committed events still await linking."""
    if checkpoint is not None and not checkpoint.valid(key):
        return _broken(0, None, "the checkpoint is not signed with this audit key: it was "
                                "forged, edited, or the key is not the one it was written with")
    head = session.get(AuditHead, 1)
    if head is None:
        return _broken(0, None, "the chain's head row is missing")
    # the checkpoint's keyed_from is trusted; the database's only if its signature holds
    keyed_from = checkpoint.keyed_from if checkpoint is not None else head.keyed_from
    if not anchor_valid(head, key):
        return _broken(0, None, "the chain's anchor (where retention pruning left it) is not "
                                "signed with the audit key: it was moved or forged")
    if checkpoint is not None and checkpoint.seq == head.anchor_seq and \
            not chain.same(head.anchor_hash, checkpoint.hash):
        return _broken(0, None, f"the chain's anchor differs from the checkpoint of "
                                f"{checkpoint.at}: history was rewritten")
    # ids are not checked for order: an event that commits late is linked after newer ids.
    # Each keyed link holds the row's id and seq, so neither can be changed without the key.
    # The walk starts at the anchor: the events before it were pruned by retention.
    prev, checked, last_seq = head.anchor_hash, 0, head.anchor_seq
    while True:
        rows: Sequence[AuditEvent] = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) > last_seq)
            .order_by(col(AuditEvent.seq)).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            if row.seq != last_seq + 1:
                return _broken(checked, row, f"events {last_seq + 1} to {(row.seq or 0) - 1} "
                                             "of the chain are missing: they were removed")
            if row.prev_hash != prev:
                return _broken(checked, row, "the previous link does not match: a row before "
                                             "it was removed or altered")
            expected = chain.PLAIN if row.seq < keyed_from else chain.KEYED
            if row.hash_version != expected:
                return _broken(checked, row, "it is not hashed with the audit key although "
                                             f"the chain is keyed from seq {keyed_from}: it "
                                             "was re-hashed")
            if not chain.same(chain.row_hash(key, expected, prev, row), row.row_hash):
                return _broken(checked, row, "its content does not match its hash: it was "
                                             "altered, or re-hashed without the key")
            if checkpoint is not None and row.seq == checkpoint.seq and \
                    not chain.same(row.row_hash, checkpoint.hash):
                return _broken(checked, row, f"it differs from the checkpoint of "
                                             f"{checkpoint.at}: history was rewritten")
            prev, last_seq = row.row_hash or "", row.seq
            checked += 1
    if checkpoint is not None and last_seq < checkpoint.seq:
        return _broken(checked, None, f"the chain ends at seq {last_seq} but the checkpoint of "
                                      f"{checkpoint.at} reached seq {checkpoint.seq}: the "
                                      "newest events were removed")
    if (head.last_seq, head.last_hash) != (last_seq, prev):
        return _broken(checked, None, "the chain ends before its recorded head: the newest "
                                      "rows were removed")
    if head.keyed_from != keyed_from or not chain.same(
            head.mac, chain.head_mac(key, head.last_seq, head.last_hash, head.keyed_from)):
        return _broken(checked, None, "the chain's head is not signed with the audit key: the "
                                      "head was moved or the chain rewritten")
    unused, first_gap = _id_gaps(session, floor=head.anchor_id)
    if unused and session.get_bind().dialect.name == "sqlite":
        # SQLite gives each new row the next id after the largest, rolled back or not: a gap
        # is a deleted event, linked or still waiting for its link
        return VerifyResult(False, checked, first_gap,
                            f"{unused} event ids are missing, the first {first_gap}: events "
                            "were deleted")
    return VerifyResult(True, checked, lag=lag(session), checkpoint=checkpoint,
                        unused_ids=unused, anchor_seq=head.anchor_seq)


def anchor_valid(head: AuditHead, key: bytes) -> bool:
    """No anchor (nothing pruned yet), or one signed with the audit key."""
    if (head.anchor_seq, head.anchor_hash, head.anchor_id) == (0, GENESIS_HASH, 0):
        return True
    return chain.same(head.anchor_mac, chain.anchor_mac(key, head.anchor_seq,
                                                        head.anchor_hash, head.anchor_id))


def _id_gaps(session: Session, *, floor: int = 0) -> tuple[int, int | None]:
    """How many ids above `floor` (the largest id pruned: signed in the anchor) and up to the
    largest hold no event, and the first. Without a floor, from the smallest id."""
    low, high, count = session.exec(select(func.min(AuditEvent.id), func.max(AuditEvent.id),
                                           func.count(col(AuditEvent.id)))
                                    .where(col(AuditEvent.id) > floor)).one()
    if not count:
        return 0, None
    low = floor + 1 if floor else low
    if (high - low + 1) == count:
        return 0, None
    if floor and session.get(AuditEvent, low) is None:
        first: int | None = low
    else:
        later = aliased(AuditEvent)
        first = session.exec(select(func.min(col(AuditEvent.id) + 1)).where(
            col(AuditEvent.id) > floor, col(AuditEvent.id) < high,
            ~select(later.id).where(later.id == col(AuditEvent.id) + 1).exists())).one()
    return high - low + 1 - count, first


def read_checkpoint(path: Path) -> chain.Checkpoint | None:
    """The latest checkpoint in the auditor's file; None when there is no file yet.
    Raises ValueError when the file's last line is not a checkpoint."""
    if not path.is_file():
        return None
    return chain.latest_checkpoint(path.read_text())


def write_checkpoint(session: Session, path: Path, *, key: bytes) -> chain.Checkpoint:
    """Verify the chain (against the file's latest checkpoint), then append the signed head.
    Raises ValueError, saying why, when the chain does not verify."""
    result = verify_chain(session, key=key, checkpoint=read_checkpoint(path))
    if not result.ok:
        raise ValueError(f"no checkpoint written: the chain is broken at event "
                         f"{result.broken_at}: {result.reason}")
    head = session.get(AuditHead, 1)
    assert head is not None  # verify_chain has just read it
    point = chain.Checkpoint(seq=head.last_seq, hash=head.last_hash, keyed_from=head.keyed_from,
                             at=datetime.now(UTC).isoformat(timespec="seconds")).signed(key)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # readable by this user only, whatever the umask of whoever runs the command
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a") as out:
        out.write(point.to_line())
    return point
