"""`cellwatch backup DEST` and `cellwatch backup verify DEST`.

A backup is a new folder (0700) holding manifest.json and two encrypted parts: `database`
(the SQLite copy, or pg_dump's custom format) and `files` (a tar of the sealed images and
evidence packs the snapshot's rows name, and the audit checkpoint file). Images stay sealed
inside: the backup key alone opens the parts, not the pictures (those need the master key).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text

from app.audit.service import Actor, record
from app.backup import manifest
from app.backup.snapshot import BackupFailed, Contents, pg_dump, postgres_snapshot, sqlite_copy
from app.backup.stream import BackupBroken, PartReader, PartWriter, read_part
from app.cli_database import sqlite_file
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.evidence import storage
from app.settings import Settings
from app.takedowns import packfiles

PART_FILES = {"database": "database.part", "files": "files.part"}
CHECKPOINT = "audit-checkpoints.jsonl"
MEMBER_RE = re.compile(r"^(images/[0-9a-f]{2}/[0-9a-f]{32}(\.display)?"
                       r"|packs/[0-9a-f]{2}/[0-9a-f]{32}\.pack|audit-checkpoints\.jsonl)$")


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


def _write_files(settings: Settings, contents: Contents, checkpoint: bytes | None,
                 part: PartWriter) -> tuple[list[int], list[str]]:
    """Tar the named files into `part` -> (ids of images whose files are gone, missing packs).
    Each file is read whole before it is added, so a file replaced meanwhile is one version."""
    gone_images, gone_packs = [], []
    root = settings.data_dir
    with tarfile.open(fileobj=part, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for image_id, key in contents.images:
            try:
                blobs = [(path, path.read_bytes()) for path in storage.paths_of(settings, key)]
            except FileNotFoundError:
                gone_images.append(image_id)
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
    return gone_images, gone_packs


def _erased_now(settings: Settings, image_ids: list[int]) -> set[int]:
    if not image_ids:
        return set()
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM image WHERE id IN :ids AND erased_at IS "
                                     "NOT NULL").bindparams(bindparam("ids", expanding=True)),
                                {"ids": image_ids}).all()
    finally:
        engine.dispose()
    return {row[0] for row in rows}


def _database_part(settings: Settings, dest: Path, key: bytes) -> tuple[Contents, PartWriter]:
    part = PartWriter(dest / PART_FILES["database"], key, "database")
    try:
        path = sqlite_file(settings.effective_database_url)
        if path is not None:
            work = Path(tempfile.mkdtemp(dir=settings.data_dir, prefix=".backup-"))
            try:  # the plain copy stays beside the live database, never in DEST
                contents = sqlite_copy(path, work / "copy.db")
                with open(work / "copy.db", "rb") as handle:
                    while block := handle.read(1 << 20):
                        part.write(block)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        else:
            url = settings.effective_migrate_url  # the owner sees every object to dump
            with postgres_snapshot(url) as (snapshot, contents):
                pg_dump(url, snapshot, part)
        part.close()
    except BaseException:
        part.abandon()
        raise
    return contents, part


def write_backup(settings: Settings, dest: Path, actor: Actor) -> dict[str, Any]:
    """Write a backup of the running system into the new folder `dest`; returns its manifest."""
    problem = settings.backup_key_problem()
    if problem:
        raise BackupFailed(f"no backup written: {problem}")
    created = not dest.exists()
    _new_folder(dest)
    key = settings.backup_key_bytes
    # read before the snapshot, so the checkpoint never names events the snapshot lacks
    checkpoint_path = settings.checkpoint_path
    checkpoint = checkpoint_path.read_bytes() if checkpoint_path.is_file() else None
    try:
        contents, db_part = _database_part(settings, dest, key)
        files_part = PartWriter(dest / PART_FILES["files"], key, "files")
        try:
            gone, missing_packs = _write_files(settings, contents, checkpoint, files_part)
            files_part.close()
        except BaseException:
            files_part.abandon()
            raise
        erased = _erased_now(settings, gone)
        missing = sorted(set(gone) - erased)
        body = {
            "format": manifest.FORMAT, "created_at": utcnow().isoformat(),
            "database": "sqlite" if sqlite_file(settings.effective_database_url) else
            "postgresql", "revision": contents.revision,
            "images": len(contents.images) - len(gone), "packs": len(contents.packs) -
            len(missing_packs), "checkpoint": checkpoint is not None,
            # erased after the snapshot: restore erases them again
            "erased_since_snapshot": sorted(erased),
            "missing_images": missing, "missing_packs": missing_packs,
            "parts": {name: {"file": PART_FILES[name], "sha256": part.sha256,
                             "plain_sha256": part.plain_sha256, "plain_bytes": part.plain_bytes}
                      for name, part in (("database", db_part), ("files", files_part))},
        }
        manifest.write(dest, key, body)
    except BaseException:
        for name in (*PART_FILES.values(), manifest.NAME):
            (dest / name).unlink(missing_ok=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    engine = make_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            record(session, actor, "backup.written", details={
                "images": body["images"], "packs": body["packs"],
                "database_bytes": db_part.plain_bytes})
    finally:
        engine.dispose()
    return body


class _Hashing:
    """Reads through a PartReader, hashing what it gives (tarfile reads it all)."""

    def __init__(self, reader: PartReader) -> None:
        self.reader, self.digest, self.size = reader, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def members(source: Any) -> tarfile.TarFile:
    return tarfile.open(fileobj=source, mode="r|")


def verify_backup(settings: Settings, src: Path) -> dict[str, Any]:
    """Check a backup without restoring it: the manifest's MAC, each part's sha256, every
    chunk's authentication, and the files part's content against the manifest."""
    key = settings.backup_key_bytes
    body = manifest.read(src, key)
    if set(body.get("parts", {})) != set(PART_FILES):
        raise BackupBroken("the manifest does not list the parts a backup has")
    for name, file in PART_FILES.items():  # fixed names: nothing in a manifest becomes a path
        if not (src / file).is_file():
            raise BackupBroken(f"{file} is missing")
        if manifest.file_sha256(src / file) != body["parts"][name]["sha256"]:
            raise BackupBroken(f"{file} differs from the manifest (altered or damaged)")
    db = body["parts"]["database"]
    digest = hashlib.sha256()
    for chunk in read_part(src / PART_FILES["database"], key, "database"):
        digest.update(chunk)
    if digest.hexdigest() != db["plain_sha256"]:
        raise BackupBroken("the database part does not hold what the manifest says")
    files = body["parts"]["files"]
    stream = _Hashing(PartReader(src / PART_FILES["files"], key, "files"))
    originals = packs = 0
    with members(stream) as tar:
        for member in tar:
            if not member.isfile() or not MEMBER_RE.match(member.name):
                raise BackupBroken(f"unexpected entry {member.name!r} in the files part")
            originals += member.name.startswith("images/") and "." not in member.name
            packs += member.name.startswith("packs/")
    while stream.read(1 << 20):
        pass  # the tar's end padding: part of the hashed content
    if stream.digest.hexdigest() != files["plain_sha256"]:
        raise BackupBroken("the files part does not hold what the manifest says")
    if (originals, packs) != (body["images"], body["packs"]):
        raise BackupBroken(f"the files part holds {originals} images and {packs} packs; the "
                           f"manifest says {body['images']} and {body['packs']}")
    return body
