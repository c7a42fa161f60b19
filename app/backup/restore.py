"""`cellwatch restore SRC`: a verified backup brought back on an empty machine.

Everything is checked first (verify_backup), and the target must be empty: no file in the
data folder, no table in the database. Then the database (SQLite file written and renamed
into place; PostgreSQL through pg_restore in one transaction), the sealed files, the audit
checkpoint (unless the target already has one), and the erasures that happened while the
backup was being written, applied again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from app import migrations
from app.audit.service import Actor, record
from app.backup.service import CHECKPOINT, MEMBER_RE, PART_FILES, members, verify_backup
from app.backup.snapshot import BackupFailed, pg_restore
from app.backup.stream import BackupBroken, PartReader, read_part
from app.cli_database import sqlite_file
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence import images, storage
from app.private import keep_private, new_private_file
from app.settings import Settings

REASON = "erased while the backup was written; erased again on restore"


def _refuse_unless_empty(settings: Settings, kind: str) -> None:
    folder = settings.data_dir
    if folder.exists() and any(folder.iterdir()):
        raise BackupFailed(f"nothing restored: the data folder {folder} is not empty. Restore "
                           "goes onto an empty machine only; point CELLWATCH_DATA_DIR at a new, "
                           "empty folder.")
    path = sqlite_file(settings.effective_database_url)
    if (kind == "sqlite") != (path is not None):
        raise BackupFailed(f"nothing restored: the backup is of a {kind} database, and this "
                           "machine's CELLWATCH_DATABASE_URL names another kind")
    if path is not None:
        if path.exists():
            raise BackupFailed(f"nothing restored: there is a database at {path} already")
        return
    engine = make_engine(settings.effective_migrate_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    except SQLAlchemyError as exc:
        raise BackupFailed(f"nothing restored: cannot reach the database ({exc.orig or exc})"
                           ) from None
    finally:
        engine.dispose()
    if tables:
        raise BackupFailed(f"nothing restored: the database is not empty ({len(tables)} tables). "
                           "Restore into a new, empty database.")


def _database(settings: Settings, src: Path, key: bytes, kind: str) -> None:
    chunks = read_part(src / PART_FILES["database"], key, "database")
    path = sqlite_file(settings.effective_database_url)
    if path is None:
        pg_restore(settings.effective_migrate_url, chunks)
        return
    partial = path.with_name(f".restoring-{path.name}")
    try:
        with new_private_file(partial) as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _files(settings: Settings, src: Path, key: bytes) -> int:
    written = 0
    with members(PartReader(src / PART_FILES["files"], key, "files")) as tar:
        for member in tar:
            if not member.isfile() or not MEMBER_RE.match(member.name):
                raise BackupBroken(f"unexpected entry {member.name!r} in the files part")
            handle = tar.extractfile(member)
            assert handle is not None
            data = handle.read()
            if member.name == CHECKPOINT:
                if not settings.checkpoint_path.exists():  # never replace an auditor's file
                    storage.write_atomic(settings.checkpoint_path, data)
                continue
            storage.write_atomic(settings.data_dir / member.name, data)
            written += 1
    return written


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    return revision in {rev.revision for rev in script.walk_revisions()}


def restore_backup(settings: Settings, src: Path, actor: Actor) -> dict[str, Any]:
    """Restore `src` onto this (empty) machine; returns the backup's manifest."""
    body = verify_backup(settings, src)
    kind = body["database"]
    if not _known(body["revision"]):
        raise BackupFailed(f"nothing restored: the backup's database is at migration "
                           f"{body['revision']}, which this version of Cellwatch does not know "
                           "(a newer version wrote it): restore with that version")
    _refuse_unless_empty(settings, kind)
    keep_private(settings.data_dir)
    key = settings.backup_key_bytes
    _database(settings, src, key, kind)
    _files(settings, src, key)
    migrations.upgrade(settings.effective_migrate_url)  # a backup from an older version
    engine = make_engine(settings.effective_migrate_url, pool_size=1, max_overflow=0)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            for image_id in body["erased_since_snapshot"]:
                images.erase_image(session, settings, actor, image_id=image_id, reason=REASON)
            record(session, actor, "backup.restored", details={
                "backup_created_at": body["created_at"], "images": body["images"],
                "packs": body["packs"], "erased_again": len(body["erased_since_snapshot"])})
    finally:
        engine.dispose()
    return body
