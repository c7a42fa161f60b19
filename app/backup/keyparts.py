"""Image keys, kept out of a backup's database copy, in a key part of their own.

Erasing an image destroys its wrapped key; an older backup must not bring it back. The
backup's database copy holds no image key (all cleared), and its sealed files open only with
the keys of the key part. Key parts can live apart from the backups (CELLWATCH_BACKUP_KEYS_DIR)
and are short-lived there: each backup deletes the ones older than CELLWATCH_BACKUP_KEYS_DAYS.
Restore takes the backup's own key part or any newer one; an image with no key in it (erased
since) is restored erased. So an erased image is unreadable from every backup once the key
parts older than its erasure are gone, whatever backups of the database and files are kept.

Format: a part (stream.py) named "keys": a JSON line {"snapshot_at": ISO time}, then one JSON
line per held image: [image id, storage key, master key id, wrapped key in base64].
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from app.backup.snapshot import HeldKey
from app.backup.stream import BackupBroken, PartWriter, read_part

NAME = "keys"
IN_BACKUP = "keys.part"
PREFIX = "keys-"


def file_name(snapshot_at: datetime) -> str:
    return f"{PREFIX}{snapshot_at:%Y%m%dT%H%M%S%fZ}.part"


def write(path: Path, backup_key: bytes, snapshot_at: datetime,
          keys: Iterable[HeldKey]) -> PartWriter:
    part = PartWriter(path, backup_key, NAME)
    try:
        part.write(json.dumps({"snapshot_at": snapshot_at.isoformat()}).encode() + b"\n")
        for held in keys:
            part.write(json.dumps([held.image_id, held.storage_key, held.master_key_id,
                                   base64.b64encode(held.wrapped_key).decode()]).encode()
                       + b"\n")
        part.close()
    except BaseException:
        part.abandon()
        path.unlink(missing_ok=True)
        raise
    return part


def _lines(path: Path, backup_key: bytes) -> Iterator[bytes]:
    carry = b""
    for chunk in read_part(path, backup_key, NAME):
        *whole, carry = (carry + chunk).split(b"\n")
        yield from whole
    if carry:
        yield carry


def read(path: Path, backup_key: bytes) -> tuple[datetime, dict[str, HeldKey]]:
    """(snapshot time, keys by storage key), every chunk authenticated, read line by line."""
    if not path.is_file():
        raise BackupBroken(f"there is no key backup at {path}")
    lines = _lines(path, backup_key)
    try:
        snapshot_at = datetime.fromisoformat(json.loads(next(lines))["snapshot_at"])
        keys = {}
        for line in lines:
            image_id, storage_key, key_id, wrapped = json.loads(line)
            keys[storage_key] = HeldKey(int(image_id), str(storage_key), str(key_id),
                                        base64.b64decode(wrapped))
    except (StopIteration, KeyError, TypeError, ValueError) as exc:
        raise BackupBroken(f"{path.name} is not a key backup ({exc!r})") from None
    return snapshot_at, keys


def prune(folder: Path, days: int, keep: Path) -> list[Path]:
    """Delete key parts in `folder` older than `days` (never `keep`, the one just written)."""
    cutoff = time.time() - days * 86400
    gone = []
    for path in folder.glob(f"{PREFIX}*.part"):
        if path != keep and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            gone.append(path)
    if gone:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)  # the deletions survive a power cut
        finally:
            os.close(fd)
    return gone
