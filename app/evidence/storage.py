"""Sealed image files on disk, written atomically and tied to the caller's transaction.

Layout: <data_dir>/images/<first 2 hex>/<storage_key>[.<kind>]. Names are random hex made
here; nothing from a client ever becomes part of a path.

Orphans: a file is written (temp file + rename) before the row that names it is committed.
The session remembers it; if the transaction ends without a commit (error, rollback, close)
the file is deleted at once. Files erased in a transaction are deleted only after it commits,
so a rolled-back erase loses nothing. A crash between write and commit can still leave a file
no row names: `sweep.sweep_orphans` removes those (run it from a scheduled job).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction

from app.settings import Settings

log = logging.getLogger("cellwatch.evidence")

KINDS = ("original", "display")
_KEY_RE = re.compile(r"^[0-9a-f]{32}$")
_NEW = "cellwatch.evidence.files_written"
_DOOMED = "cellwatch.evidence.files_to_delete"
_HOOKED = "cellwatch.evidence.hooked"


def new_storage_key() -> str:
    return secrets.token_hex(16)


def images_root(settings: Settings) -> Path:
    return settings.data_dir / "images"


def path_for(settings: Settings, storage_key: str, kind: str) -> Path:
    if not _KEY_RE.match(storage_key) or kind not in KINDS:
        raise ValueError("invalid storage key or kind")  # defence in depth: never a path
    name = storage_key if kind == "original" else f"{storage_key}.{kind}"
    return images_root(settings) / storage_key[:2] / name


def paths_of(settings: Settings, storage_key: str) -> list[Path]:
    return [path_for(settings, storage_key, kind) for kind in KINDS]


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the whole file or none of it: temp file in the same folder, then rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def read(settings: Settings, storage_key: str, kind: str) -> bytes:
    return path_for(settings, storage_key, kind).read_bytes()


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not delete stored image file %s", path)


def _after_commit(session: OrmSession) -> None:
    session.info[_NEW] = []
    _unlink(session.info.pop(_DOOMED, []))


def _after_transaction_end(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    written = session.info.pop(_NEW, [])
    if written:
        log.info("transaction ended without commit: deleting %d new image files", len(written))
    _unlink(written)
    session.info.pop(_DOOMED, None)  # not committed: the erased files are still needed


def _hook(session: OrmSession) -> None:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
        session.info[_HOOKED] = True
    session.connection()  # make sure a transaction is open, so its end is seen


def store(session: OrmSession, settings: Settings, storage_key: str, kind: str,
          blob: bytes) -> None:
    """Write a sealed file that lives only if the session's transaction commits."""
    _hook(session)
    path = path_for(settings, storage_key, kind)
    session.info.setdefault(_NEW, []).append(path)
    write_atomic(path, blob)


def delete_on_commit(session: OrmSession, settings: Settings, storage_key: str) -> None:
    _hook(session)
    session.info.setdefault(_DOOMED, []).extend(paths_of(settings, storage_key))
