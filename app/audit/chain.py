"""The audit chain's hashes and signatures (pure: no database, no disk).

Version 1 links (rows linked before migration 0014) are a plain SHA-256 of the previous hash
and the row's content: anyone can recompute them, so they only count up to the point where the
chain became keyed (`keyed_from`, held in the signed head and in every checkpoint). Version 2
links are HMAC-SHA256 with the audit key, which lives outside the database, over the previous
hash, the row's id and place in the chain, and its content. Without the key, rewritten history
cannot be given valid links, a valid head or a valid checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

PLAIN = 1  # sha256(prev + content): only before keyed_from
KEYED = 2  # HMAC-SHA256(key, prev + id + seq + content)


class Linkable(Protocol):
    id: int | None
    seq: int | None
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_ids: str
    purpose: str
    outcome: str
    client_addr: str
    request_id: str
    details: str


def content(event: Linkable) -> str:
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


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def plain_hash(prev_hash: str, event: Linkable) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content(event)}".encode()).hexdigest()


def keyed_hash(key: bytes, prev_hash: str, seq: int, event: Linkable) -> str:
    # the id and seq are inside the MAC: a row cannot be moved or renumbered without the key
    return _mac(key, f"row\n{prev_hash}\n{event.id}\n{seq}\n{content(event)}")


def row_hash(key: bytes, version: int | None, prev_hash: str, event: Linkable) -> str | None:
    """The link a linked row of this version must carry; None for an unknown version."""
    if version == PLAIN:
        return plain_hash(prev_hash, event)
    if version == KEYED and event.seq is not None:
        return keyed_hash(key, prev_hash, event.seq, event)
    return None


def head_mac(key: bytes, last_seq: int, last_hash: str, keyed_from: int) -> str:
    return _mac(key, f"head\n{last_seq}\n{last_hash}\n{keyed_from}")


def anchor_mac(key: bytes, seq: int, last_hash: str, id_floor: int) -> str:
    """The signature of where retention pruning left the chain: its last pruned event's seq
    and hash, and the largest id pruned (ids above it are checked for gaps)."""
    return _mac(key, f"anchor\n{seq}\n{last_hash}\n{id_floor}")


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a, b)


@dataclass(frozen=True)
class Checkpoint:
    """A signed head written outside the database: sequence, hash, when, and since when the
    chain is keyed. One JSON object per line in the auditor's file."""

    seq: int
    hash: str
    keyed_from: int
    at: str  # ISO 8601 UTC
    mac: str = ""

    def _message(self) -> str:
        return f"checkpoint\n{self.seq}\n{self.hash}\n{self.keyed_from}\n{self.at}"

    def signed(self, key: bytes) -> Checkpoint:
        return Checkpoint(self.seq, self.hash, self.keyed_from, self.at,
                          _mac(key, self._message()))

    def valid(self, key: bytes) -> bool:
        return same(self.mac, _mac(key, self._message()))

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @classmethod
    def from_line(cls, line: str) -> Checkpoint:
        """Raises ValueError for a line that is not a checkpoint."""
        try:
            data = json.loads(line)
            return cls(seq=int(data["seq"]), hash=str(data["hash"]),
                       keyed_from=int(data["keyed_from"]), at=str(data["at"]),
                       mac=str(data["mac"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a checkpoint line: {exc}") from exc


def latest_checkpoint(text: str) -> Checkpoint | None:
    """The last checkpoint in a file's text (None when it holds none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return Checkpoint.from_line(lines[-1]) if lines else None
