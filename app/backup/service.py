"""`cellwatch backup DEST`: a consistent, encrypted backup of the running system.

A backup is a new folder (0700) holding manifest.json and encrypted parts: `database` (the
SQLite copy, or pg_dump's custom format), on PostgreSQL `image-rows`, `pack-rows` and
`video-rows` (the image, evidence_pack and video tables, which pg_dump leaves out), `files` (a
tar of the sealed images, videos (original, poster once sampled, preview once made) and evidence
packs the snapshot's rows name, and the audit checkpoint file) and, with `keys_inside` only,
`keys` (keyparts.py; by default the key part goes to the key part folder, where erasures scrub
it). The database copy holds no image, video or pack key; they stay sealed inside the files
part.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from app.audit.service import Actor, record
from app.backup import keyparts, manifest
from app.backup.snapshot import (
    KEYED_TABLES,
    BackupFailed,
    Contents,
    copy_rows,
    pg_dump,
    postgres_snapshot,
    sqlite_copy,
)
from app.backup.stream import PartWriter
from app.cli_database import sqlite_file
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.evidence import storage
from app.evidence.models import Image, PackKey, Video
from app.settings import Settings
from app.takedowns import packfiles

PART_FILES = {"database": "database.part", "image-rows": "image-rows.part",
              "pack-rows": "pack-rows.part", "video-rows": "video-rows.part",
              "files": "files.part", "keys": keyparts.IN_BACKUP}
CHECKPOINT = "audit-checkpoints.jsonl"
MEMBER_RE = re.compile(r"^(images/[0-9a-f]{2}/[0-9a-f]{32}(\.display|\.poster|\.preview)?"
                       r"|packs/[0-9a-f]{2}/[0-9a-f]{32}\.pack|audit-checkpoints\.jsonl)$")
# an erase whose transaction began before the snapshot stamps an earlier time than it
ERASE_MARGIN = timedelta(days=1)


def _new_folder(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupFailed(f"{dest} exists and is not an empty folder: each backup goes into "
                           "a new folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(dest, 0o700)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _video_kinds(contents: Contents, video_id: int) -> tuple[str, ...]:
    """A video's files as the snapshot has them: a poster stored by a sampling, or a preview
    stored by its job, that committed after the snapshot is left out (the restored video is
    sampled again, or its preview made again)."""
    return ("original", *(("poster",) if video_id in contents.sampled else ()),
            *(("preview",) if video_id in contents.previewed else ()))


def _write_files(settings: Settings, contents: Contents, checkpoint: bytes | None,
                 part: PartWriter) -> tuple[list[int], list[int], list[str]]:
    """Tar the named files into `part` -> (ids of images and of videos whose files are gone,
    missing packs). Each file is read whole before it is added, so a file replaced meanwhile
    is one version."""
    gone_images, gone_videos, gone_packs = [], [], []
    root = settings.data_dir
    sealed = [(i, k, storage.KINDS, gone_images) for i, k in contents.images] + [
        (v.image_id, v.storage_key, _video_kinds(contents, v.image_id), gone_videos)
        for v in contents.video_keys]
    with tarfile.open(fileobj=part, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for held_id, key, kinds, gone in sealed:
            try:
                blobs = [(path, path.read_bytes())
                         for path in storage.paths_of(settings, key, kinds)]
            except FileNotFoundError:  # erased after the snapshot
                gone.append(held_id)
                continue
            for path, blob in blobs:
                _add(tar, path.relative_to(root).as_posix(), blob)
        for key in contents.packs:
            path = packfiles.path_for(settings, key)
            try:
                _add(tar, path.relative_to(root).as_posix(), path.read_bytes())
            except FileNotFoundError:
                gone_packs.append(key)
        if checkpoint is not None:
            _add(tar, CHECKPOINT, checkpoint)
    return gone_images, gone_videos, gone_packs


def _erased_since(settings: Settings, contents: Contents,
                  snapshot_at: datetime) -> tuple[set[int], set[str], set[int]]:
    """(images, packs, videos) of the snapshot erased since (read just before the key part is
    written)."""
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    since = snapshot_at - ERASE_MARGIN
    try:
        with make_session_factory(engine)() as session:
            ids = set(session.exec(select(Image.id).where(col(Image.erased_at) >= since)).all())
            packs = set(session.exec(select(PackKey.pack_key).where(
                col(PackKey.erased_at) >= since)).all())
            videos = set(session.exec(select(Video.id).where(
                col(Video.erased_at) >= since)).all())
    finally:
        engine.dispose()
    return (ids & {image_id for image_id, _ in contents.images},
            packs & {k.storage_key for k in contents.pack_keys},
            videos & {k.image_id for k in contents.video_keys})


def _database_parts(settings: Settings, dest: Path, key: bytes
                    ) -> tuple[Contents, dict[str, PartWriter]]:
    parts = {"database": PartWriter(dest / PART_FILES["database"], key, "database")}
    try:
        path = sqlite_file(settings.effective_database_url)
        if path is not None:
            work = Path(tempfile.mkdtemp(dir=settings.data_dir, prefix=".backup-"))
            try:  # the plain copy stays beside the live database, never in DEST
                contents = sqlite_copy(path, work / "copy.db")
                with open(work / "copy.db", "rb") as handle:
                    while block := handle.read(1 << 20):
                        parts["database"].write(block)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            url = settings.effective_migrate_url  # the owner sees every object to dump
            with postgres_snapshot(url) as (snapshot, contents, conn):
                pg_dump(url, snapshot, parts["database"])
                for name, table in KEYED_TABLES.items():
                    parts[name] = PartWriter(dest / PART_FILES[name], key, name)
                    copy_rows(conn, table, parts[name])
        for part in parts.values():
            part.close()
    except BaseException:
        for part in parts.values():
            part.abandon()
        raise
    return contents, parts


def _keys_path(settings: Settings, dest: Path, keys_inside: bool,
               snapshot_at: datetime) -> Path:
    if keys_inside:
        return dest / PART_FILES["keys"]
    folder = settings.backup_keys_folder
    if settings.backup_keys_dir and not folder.is_dir():
        raise BackupFailed(f"the key part folder {folder} (CELLWATCH_BACKUP_KEYS_DIR) is "
                           "missing: mount or create it (it is scrubbed on every erasure)")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder / keyparts.file_name(snapshot_at)


def _key_part(settings: Settings, dest: Path, keys_inside: bool, contents: Contents,
              snapshot_at: datetime, key: bytes
              ) -> tuple[Path, PartWriter, set[int], set[int]]:
    """Write the key part -> (its path, the part, images and videos erased since the
    snapshot).
    Under the key folder's lock, from the erasures read to the part in place: an erasure that
    commits meanwhile scrubs the folder after this part is there (app/keyscrub.py)."""
    keys_path = _keys_path(settings, dest, keys_inside, snapshot_at)
    with nullcontext() if keys_inside else keyparts.locked(keys_path.parent):
        erased, packs_erased, videos_erased = _erased_since(settings, contents, snapshot_at)
        held = [k for k in contents.keys if k.image_id not in erased]  # no key of the erased
        held += [k for k in contents.pack_keys if k.storage_key not in packs_erased]
        held += [k for k in contents.video_keys if k.image_id not in videos_erased]
        part = keyparts.write(keys_path, key, snapshot_at, held)
        return keys_path, part, erased, videos_erased


def write_backup(settings: Settings, dest: Path, actor: Actor, *,
                 keys_inside: bool = False) -> dict[str, Any]:
    """Write a backup of the running system into the new folder `dest` (its image, video and pack
    keys into the key part folder, or into `dest` with `keys_inside`); returns its manifest."""
    problem = settings.backup_key_problem()
    if problem:
        raise BackupFailed(problem)
    created = not dest.exists()
    _new_folder(dest)
    key = settings.backup_key_bytes
    written = [dest / name for name in (*PART_FILES.values(), manifest.NAME)]  # on failure
    # read before the snapshot, so the checkpoint never names events the snapshot lacks
    checkpoint_path = settings.checkpoint_path
    checkpoint = checkpoint_path.read_bytes() if checkpoint_path.is_file() else None
    snapshot_at = utcnow()
    try:
        contents, parts = _database_parts(settings, dest, key)
        parts["files"] = PartWriter(dest / PART_FILES["files"], key, "files")
        try:
            gone, gone_videos, missing_packs = _write_files(settings, contents, checkpoint,
                                                            parts["files"])
            parts["files"].close()
        except BaseException:
            parts["files"].abandon()
            raise
        keys_path, key_part, erased, videos_erased = _key_part(
            settings, dest, keys_inside, contents, snapshot_at, key)
        if keys_inside:
            parts["keys"] = key_part
        body = {
            "format": manifest.FORMAT, "created_at": utcnow().isoformat(),
            "snapshot_at": snapshot_at.isoformat(),
            "database": "postgresql" if "image-rows" in parts else "sqlite",
            "pack_rows": "pack-rows" in parts, "video_rows": "video-rows" in parts,
            "revision": contents.revision,
            "images": len(contents.images) - len(gone), "packs": len(contents.packs) -
            len(missing_packs), "checkpoint": checkpoint is not None,
            "keys": "in the backup" if "keys" in parts else f"apart: {keys_path.name}",
            "image_keys": len([k for k in contents.keys if k.image_id not in erased]),
            # erased after the snapshot: restored erased (no key for them in the key part)
            "erased_since_snapshot": sorted(erased),
            "missing_images": sorted(set(gone) - erased), "missing_packs": missing_packs,
            # videos: their keys are in the key part, never in the database copy
            "videos": len(contents.video_keys) - len(gone_videos),
            "video_keys": len([k for k in contents.video_keys
                               if k.image_id not in videos_erased]),
            "video_derivatives": sum(len(_video_kinds(contents, k.image_id)) - 1
                                     for k in contents.video_keys
                                     if k.image_id not in gone_videos),
            "videos_erased_since_snapshot": sorted(videos_erased),
            "missing_videos": sorted(set(gone_videos) - videos_erased),
            "parts": {name: {"sha256": part.sha256, "plain_sha256": part.plain_sha256,
                             "plain_bytes": part.plain_bytes} for name, part in parts.items()},
        }
        written.append(keys_path)  # a key part without its manifest goes too
        manifest.write(dest, key, body)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    if "keys" not in parts:
        body["pruned_key_backups"] = len(keyparts.prune(keys_path.parent,
                                                        settings.backup_keys_days, keys_path))
    _record(settings, actor, body)
    return body


def _record(settings: Settings, actor: Actor, body: dict[str, Any]) -> None:
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            record(session, actor, "backup.written", details={
                "images": body["images"], "videos": body["videos"], "packs": body["packs"],
                "keys": body["keys"],
                "database_bytes": body["parts"]["database"]["plain_bytes"]})
    finally:
        engine.dispose()

