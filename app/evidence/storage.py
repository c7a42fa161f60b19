"""Sealed image files on disk, written atomically and tied to the caller's transaction.

Layout: <data_dir>/images/<first 2 hex>/<storage_key>[.<kind>]. Names are random hex made
here; nothing from a client ever becomes part of a path. A file being written is
`.tmp-<final name>-<random>` beside it until it is renamed into place.

Orphans: a file is written (temp file + rename) before the row that names it is committed.
app/txfiles.py ties it to the transaction: if that ends without a commit (error, rollback,
close) the file is deleted at once. Files erased in a transaction are deleted only after it
commits, so a rolled-back erase loses nothing. A process killed between write and commit
leaves a file no row names: its writer claimed the key first (app/evidence/claims.py), so
`sweep.sweep_orphans` removes it as soon as that claim is gone (`cellwatch jobs run`).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session as OrmSession

from app.evidence import claims
from app.settings import Settings
from app.txfiles import delete_when_committed, keep_if_committed

KINDS = ("original", "display")  # an image's files
VIDEO_KINDS = ("original", "poster", "preview")  # a video's; served: the poster and preview
_ALL_KINDS = frozenset(KINDS + VIDEO_KINDS)
TEMP_PREFIX = ".tmp-"
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")


def new_storage_key() -> str:
    return secrets.token_hex(16)


def images_root(settings: Settings) -> Path:
    return settings.data_dir / "images"


def path_for(settings: Settings, storage_key: str, kind: str) -> Path:
    if not _KEY_RE.match(storage_key) or kind not in _ALL_KINDS:
        raise ValueError("invalid storage key or kind")  # defence in depth: never a path
    name = storage_key if kind == "original" else f"{storage_key}.{kind}"
    return images_root(settings) / storage_key[:2] / name


def paths_of(settings: Settings, storage_key: str,
             kinds: tuple[str, ...] = KINDS) -> list[Path]:
    return [path_for(settings, storage_key, kind) for kind in kinds]


def write_atomic(path: Path, data: bytes, *, pause: Callable[[], None] | None = None) -> None:
    """Readers see the whole file or none of it: temp file in the same folder, then rename.
    (`pause`: tests only, called with the temp file written and again after the rename.)"""
    write_all_atomic({path: data}, pause=pause)


def write_all_atomic(files: dict[Path, bytes], *,
                     pause: Callable[[], None] | None = None) -> None:
    """write_atomic for files of one folder, with one fsync of the folder for all the renames
    (an upload's original and display copy: a quarter of its disk flushes saved)."""
    folders = {path.parent for path in files}
    if len(folders) != 1:
        raise ValueError("files of one folder only")
    folder = folders.pop()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{path.name}-")  # 0600
            written.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        if pause is not None:
            pause()
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the renames themselves survive a power cut
    finally:
        os.close(dir_fd)
    if pause is not None:
        pause()


def read(settings: Settings, storage_key: str, kind: str) -> bytes:
    return path_for(settings, storage_key, kind).read_bytes()


def store(session: OrmSession, settings: Settings, storage_key: str, kind: str,
          blob: bytes) -> None:
    """Write a sealed file that lives only if the session's transaction commits."""
    store_all(session, settings, storage_key, {kind: blob})


def store_all(session: OrmSession, settings: Settings, storage_key: str,
              blobs: dict[str, bytes]) -> None:
    """Write an image's sealed files (by kind), each living only if the session's transaction
    commits; one claim and one folder flush for them all."""
    paths = {path_for(settings, storage_key, kind): blob for kind, blob in blobs.items()}
    claims.claim(session, storage_key)  # held until the transaction ends, however it ends
    for path in paths:
        keep_if_committed(session, path)  # before the write: a failed write leaves nothing
    pause = settings.test_write_pause
    write_all_atomic(paths, pause=(lambda: time.sleep(pause)) if pause else None)


def key_of(name: str) -> str | None:
    """The storage key a file name in the images folder holds (temp files' too), if any."""
    key = name.removeprefix(TEMP_PREFIX)[:32]
    return key if _KEY_RE.match(key) else None


def delete_on_commit(session: OrmSession, settings: Settings, storage_key: str,
                     kinds: tuple[str, ...] = KINDS) -> None:
    """The image's (or video's) files go once the erase commits; a rolled-back erase keeps
    them."""
    delete_when_committed(session, *paths_of(settings, storage_key, kinds))
