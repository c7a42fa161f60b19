"""Image, video and evidence-pack keys, kept out of a backup's database copy, in a key part.

Erasing an image (or a video, or a pack) destroys its wrapped key; an older backup must not
bring it back.
The backup's database copy holds no such key (all cleared), and its sealed files open only
with the keys of the key part. Key parts live apart from the backups, in one folder
(settings.backup_keys_folder), and erasing removes the erased keys from every key part there
(`scrub`, run by app/keyscrub.py); each backup also deletes the parts older than
CELLWATCH_BACKUP_KEYS_DAYS. Restore takes the backup's own key part or any newer one; an image
with no key in it (erased since) is restored erased. A backup written with its keys inside
(`--keys-inside`) is the exception: its manifest seals its key part, so nothing scrubs it.

Format: a part (stream.py) named "keys": a JSON line {"snapshot_at": ISO time}, then one JSON
line per held key: [image id, storage key, master key id, wrapped key in base64] for an image,
["pack", pack key, master key id, wrapped key in base64] for an evidence pack, ["video",
storage key, master key id, wrapped key in base64] for a video (key parts written before videos
were backed up have no such line). The second field names the key in all three, which is what
a scrub removes.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from app.backup.snapshot import VIDEO, HeldKey
from app.backup.stream import BackupBroken, PartWriter, read_part

NAME = "keys"
IN_BACKUP = "keys.part"
PREFIX = "keys-"
_NAMED_RE = re.compile(rb'^\[(?:[0-9]+|"pack"|"video"), "([0-9a-f]{32})"')  # what write() writes
NAME_RE = re.compile(r"^keys-[0-9]{8}T[0-9]{12}Z\.part$")  # file_name's
TEMP = ".tmp-"  # a key part being rewritten by a scrub, renamed over the old one when whole
PACK = "pack"
LOCK = ".lock"


def file_name(snapshot_at: datetime) -> str:
    return f"{PREFIX}{snapshot_at:%Y%m%dT%H%M%S%fZ}.part"


def write(path: Path, backup_key: bytes, snapshot_at: datetime,
          keys: Iterable[HeldKey]) -> PartWriter:
    part = PartWriter(path, backup_key, NAME)
    try:
        part.write(json.dumps({"snapshot_at": snapshot_at.isoformat()}).encode() + b"\n")
        for held in keys:
            first = held.kind if held.kind in (PACK, VIDEO) else held.image_id
            part.write(json.dumps([first,
                                   held.storage_key, held.master_key_id,
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
            first, storage_key, key_id, wrapped = json.loads(line)
            kind = first if first in (PACK, VIDEO) else "image"
            keys[storage_key] = HeldKey(0 if kind != "image" else int(first), str(storage_key),
                                        str(key_id), base64.b64decode(wrapped), kind)
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
        _fsync_folder(folder)  # the deletions survive a power cut
    return gone


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """One writer of the folder's key parts at a time, across processes (a backup writing
    its key part, a scrub rewriting them): otherwise a scrub could rewrite a part from a copy
    read before another scrub removed a key, and bring that key back."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def parts_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(f"{PREFIX}*.part") if p.is_file())


def _named(path: Path, line: bytes) -> str:
    """The key a line names (its second field), read without parsing the whole line: a key
    part holds a line per image held, and a scrub reads every one of them."""
    found = _NAMED_RE.match(line)
    if found:
        return found.group(1).decode()
    try:
        return str(json.loads(line)[1])
    except (ValueError, IndexError, TypeError):
        raise BackupBroken(f"{path.name} is not a key backup") from None


def _rewrite(path: Path, backup_key: bytes, doomed: Collection[str]) -> int:
    """Write `path` again without the keys named in `doomed` -> how many went (0: untouched).
    New file, fsync, rename over the old one; its time is kept, so pruning ages it as before."""
    tmp = path.with_name(f"{TEMP}{path.name}-{secrets.token_hex(4)}")
    part, removed = PartWriter(tmp, backup_key, NAME), 0
    try:
        for n, line in enumerate(_lines(path, backup_key)):
            if n > 0 and _named(path, line) in doomed:
                removed += 1
                continue
            part.write(line + b"\n")
        if not removed:
            part.abandon()
            tmp.unlink(missing_ok=True)
            return 0
        part.close()  # fsynced
        stat = path.stat()
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        part.abandon()
        tmp.unlink(missing_ok=True)
        raise
    return removed


def scrub(folder: Path, backup_key: bytes, doomed: Collection[str]) -> tuple[int, int]:
    """Remove the keys named in `doomed` (storage keys of images and videos, pack keys) from
    every key part in `folder`, durably -> (key parts rewritten, keys removed). The caller holds
    `locked(folder)`. Raises OSError or BackupBroken when a part cannot be rewritten."""
    for leftover in folder.glob(f"{TEMP}{PREFIX}*"):  # a scrub killed mid-write
        leftover.unlink(missing_ok=True)
    rewritten = removed = 0
    for path in parts_in(folder):
        gone = _rewrite(path, backup_key, doomed)
        if gone:
            rewritten, removed = rewritten + 1, removed + gone
    if rewritten:
        _fsync_folder(folder)  # the renames survive a power cut
    return rewritten, removed
