"""`cellwatch restore SRC`: a verified backup brought back on an empty machine.

Everything is checked first (the backup, and the key part it will take its image keys from),
and the target must be empty: no file in the data folder, no table in the database. Then the
database (SQLite: written and renamed into place; PostgreSQL: one psql transaction), the
sealed files, the audit checkpoint (unless the target has one), the image, video and pack
keys; an image or video whose key is not in the key part (erased since) is restored erased.
So is every video of a backup written before videos were backed up: it holds none of their
files, and their keys were left in its database copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from app import migrations
from app.audit.service import Actor, record
from app.backup import keyparts
from app.backup.service import CHECKPOINT, MEMBER_RE, PART_FILES
from app.backup.snapshot import KEYED_TABLES, VIDEO, BackupFailed, HeldKey, pg_restore
from app.backup.stream import BackupBroken, PartReader, read_part
from app.backup.verify import members, verify_backup
from app.cli_database import sqlite_file
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.evidence import images, packkeys, storage, videos
from app.evidence.models import Image, PackKey, Video
from app.private import keep_private, new_private_file
from app.settings import Settings
from app.txfiles import delete_when_committed

NO_KEY = "its key is not in the key backup used (the image was erased after this backup)"
NO_VIDEO_KEY = ("its key is not in the key backup used (the video was erased after this "
                "backup)")
NO_PACK_KEY = ("erased: its key is not in the key backup used (erased after this backup, "
               "with an image it held)")


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


@contextmanager
def _plain_dump(settings: Settings, src: Path, key: bytes) -> Iterator[Path]:
    """The dump decrypted into a private folder of the (new) data folder, for pg_restore."""
    work = Path(tempfile.mkdtemp(dir=settings.data_dir, prefix=".restore-"))
    try:
        with new_private_file(work / "dump") as handle:
            for chunk in read_part(src / PART_FILES["database"], key, "database"):
                handle.write(chunk)
        yield work / "dump"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _database(settings: Settings, src: Path, key: bytes, parts: set[str]) -> None:
    path = sqlite_file(settings.effective_database_url)
    if path is None:
        with _plain_dump(settings, src, key) as dump:
            pg_restore(settings.effective_migrate_url, dump, {
                table: read_part(src / PART_FILES[name], key, name)
                for name, table in KEYED_TABLES.items() if name in parts})
        return
    partial = path.with_name(f".restoring-{path.name}")
    try:
        with new_private_file(partial) as handle:
            for chunk in read_part(src / PART_FILES["database"], key, "database"):
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


def _keys(settings: Settings, src: Path, body: dict[str, Any],
          keys: Path | None) -> dict[str, HeldKey]:
    path = keys or src / keyparts.IN_BACKUP
    if keys is None and not path.is_file():
        name = str(body["keys"]).removeprefix("apart: ")
        kept = settings.backup_keys_folder / name
        if not (settings.backup_keys_dir and keyparts.NAME_RE.match(name) and kept.is_file()):
            raise BackupFailed(f"nothing restored: this backup's image keys were kept apart "
                               f"({body['keys']}); give that key backup, or a newer one, with "
                               "--keys")
        path = kept  # in the key part folder this machine is given (other storage)
    taken_at, held = keyparts.read(path, settings.backup_key_bytes)
    if taken_at < datetime.fromisoformat(body["snapshot_at"]):
        raise BackupFailed(f"nothing restored: the key backup {path.name} is older than the "
                           "backup (its newer images would have no key); give the backup's own "
                           "key backup or a newer one")
    return held


def _known(revision: str) -> bool:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    return revision in {rev.revision for rev in script.walk_revisions()}


def restore_backup(settings: Settings, src: Path, actor: Actor, *,
                   keys: Path | None = None) -> dict[str, Any]:
    """Restore `src` onto this (empty) machine with image keys from `keys` (default: the
    backup's own key part); returns the backup's manifest and how many images had no key."""
    body = verify_backup(settings, src)
    held = _keys(settings, src, body, keys)
    if not _known(body["revision"]):
        raise BackupFailed(f"nothing restored: the backup's database is at migration "
                           f"{body['revision']}, which this version of Cellwatch does not know "
                           "(a newer version wrote it): restore with that version")
    _refuse_unless_empty(settings, body["database"])
    keep_private(settings.data_dir)
    key = settings.backup_key_bytes
    _database(settings, src, key, set(body["parts"]))
    _files(settings, src, key)
    migrations.upgrade(settings.effective_migrate_url)  # a backup from an older version
    engine = make_engine(settings.effective_migrate_url, pool_size=1, max_overflow=0)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            body["videos_erased_on_restore"] = _apply_video_keys(session, settings, actor,
                                                                 held)
            body["erased_on_restore"] = _apply_keys(session, settings, actor, held)
            record(session, actor, "backup.restored", details={
                "backup_snapshot_at": body["snapshot_at"], "images": body["images"],
                "videos": body.get("videos", 0), "packs": body["packs"],
                "erased_on_restore": body["erased_on_restore"],
                "videos_erased_on_restore": body["videos_erased_on_restore"]})
    finally:
        engine.dispose()
    return body


def _apply_video_keys(session: Any, settings: Settings, actor: Actor,
                      held: dict[str, HeldKey]) -> list[int]:
    """Give each restored video its key; one with none in the key part is erased (its frames
    are images: their own keys say whether they stay) -> the videos erased."""
    gone = []
    for video in session.exec(select(Video).where(col(Video.erased_at).is_(None))).all():
        found = held.get(video.storage_key)
        if found is not None and found.kind == VIDEO:
            video.wrapped_key, video.master_key_id = found.wrapped_key, found.master_key_id
            session.add(video)
        else:
            gone.append(video.id or 0)
    videos.erase_videos(session, settings, actor, video_ids=gone, now=utcnow(),
                        reason=NO_VIDEO_KEY, frames=False)
    if gone:
        record(session, actor, "evidence.video.erased", object_type="video", object_ids=gone,
               purpose=NO_VIDEO_KEY)
    return sorted(gone)


def _apply_keys(session: Any, settings: Settings, actor: Actor,
                held: dict[str, HeldKey]) -> int:
    """Give each restored pack and image its key; one with none in the key part is erased
    (an image erased so erases the packs holding it too)."""
    now = utcnow()
    for pack in session.exec(select(PackKey).where(col(PackKey.erased_at).is_(None))).all():
        found = held.get(pack.pack_key)
        if found is not None and found.kind == keyparts.PACK:
            pack.wrapped_key, pack.master_key_id = found.wrapped_key, found.master_key_id
        else:
            pack.wrapped_key, pack.erased_at, pack.erasure_reason = b"", now, NO_PACK_KEY
            delete_when_committed(session, packkeys.pack_path(settings, pack.pack_key))
        session.add(pack)
    erased = 0
    for image in session.exec(select(Image).where(col(Image.erased_at).is_(None))).all():
        found = held.get(image.storage_key)
        if found is not None and found.kind == "image" and found.image_id == image.id:
            image.wrapped_key, image.master_key_id = found.wrapped_key, found.master_key_id
            session.add(image)
        else:
            images.erase_image(session, settings, actor, image_id=image.id or 0, reason=NO_KEY)
            erased += 1
    return erased
