"""The backups' database copies hold no image key; key parts older than
CELLWATCH_BACKUP_KEYS_DAYS are deleted by the next backup (scrubbing on erasure:
test_key_scrub.py)."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess

import pytest
from sqlmodel import select

from app.backup import keyparts, service
from app.backup.restore import restore_backup
from app.backup.snapshot import BackupFailed, binary
from app.backup.stream import read_part
from app.db import unit_of_work
from app.evidence import images
from app.evidence.models import Image
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import factory_for, fresh_settings, grant, ingest, read_original

BACKUP_KEY = base64.b64encode(b"b" * 32).decode()


def _plain(path, name: str) -> bytes:
    return b"".join(read_part(path, base64.b64decode(BACKUP_KEY), name))


def _wrapped(factory, image_id: int) -> bytes:
    with factory() as session:
        image = session.get(Image, image_id)
        assert image is not None and image.wrapped_key
        return image.wrapped_key


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_database_copy_in_a_backup_holds_no_image_key(kind, tmp_path, request):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    ids = [ingest(factory, live, seed)[0] for seed in (1, 2)]
    keys = [_wrapped(factory, i) for i in ids]
    service.write_backup(live, tmp_path / "b", TEST_ACTOR)
    everything = _plain(tmp_path / "b" / "database.part", "database")
    if kind == "sqlite":
        copy = tmp_path / "copy.db"
        copy.write_bytes(everything)
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT count(*), max(length(wrapped_key)) FROM image"
                                ).fetchone() == (2, 0)
    else:
        dump = tmp_path / "dump"
        dump.write_bytes(everything)
        script = subprocess.run([binary("pg_restore"), "--file=-", str(dump)], check=True,
                                capture_output=True).stdout  # the dump as SQL, uncompressed
        assert b"COPY public.audit_event" in script and b"COPY public.image " not in script
        rows = _plain(tmp_path / "b" / "image-rows.part", "image-rows")
        assert len(rows.splitlines()) == 3  # the column names, then both images
        everything = script + rows
    for key in keys:
        assert key not in everything and key.hex().encode() not in everything
    [part] = keyparts.parts_in(live.backup_keys_folder)
    held = keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]
    assert sorted(k.wrapped_key for k in held.values()) == sorted(keys)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_image_erased_after_a_backup_stays_erased_when_that_backup_is_restored(
        kind, tmp_path, request):
    (tmp_path / "keys").mkdir()
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY,
                          backup_keys_dir=str(tmp_path / "keys"), backup_keys_days=7)
    factory = factory_for(live)
    kept, kept_data = ingest(factory, live, 1)
    doomed, _ = ingest(factory, live, 2)
    doomed_key = _wrapped(factory, doomed)
    older = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    assert older["keys"].startswith("apart: keys-")
    assert not (tmp_path / "b1" / "keys.part").exists()
    with unit_of_work(factory) as session:
        images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="retention")

    first_keys = keyparts.parts_in(tmp_path / "keys")
    assert len(first_keys) == 1
    old = os.stat(first_keys[0]).st_mtime - 8 * 86400
    os.utime(first_keys[0], (old, old))  # a key backup past its 7 days
    newer = service.write_backup(live, tmp_path / "b2", TEST_ACTOR)
    assert newer["pruned_key_backups"] == 1
    remaining = keyparts.parts_in(tmp_path / "keys")
    assert len(remaining) == 1 and remaining[0] != first_keys[0]

    # nothing left anywhere holds the erased image's key: the older backup's parts, the
    # newer backup's, the key backup that remains
    for folder in (tmp_path / "b1", tmp_path / "b2"):
        for part in folder.glob("*.part"):
            plain = _plain(part, part.stem)
            assert doomed_key not in plain and doomed_key.hex().encode() not in plain
    assert base64.b64encode(doomed_key) not in _plain(remaining[0], "keys")

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    with pytest.raises(BackupFailed, match="image keys were kept apart"):
        restore_backup(target, tmp_path / "b1", TEST_ACTOR)
    body = restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=remaining[0])
    assert body["erased_on_restore"] == 1
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)
    assert read_original(restored, target, kept) == kept_data
    with restored() as session:
        gone = session.get(Image, doomed)
        assert gone is not None and gone.erased_at is not None and gone.wrapped_key == b""
        assert session.exec(select(Image.id).where(Image.erased_at == None)).all() == [kept]  # noqa: E711


def test_a_key_backup_older_than_the_backup_is_refused(tmp_path, request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    ingest(factory, live, 1)
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    service.write_backup(live, tmp_path / "b2", TEST_ACTOR)
    first = keyparts.parts_in(live.backup_keys_folder)[0]
    target = fresh_settings("sqlite", tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    with pytest.raises(BackupFailed, match="older than the backup"):
        restore_backup(target, tmp_path / "b2", TEST_ACTOR, keys=first)
    assert not target.data_dir.exists() or not any(target.data_dir.iterdir())
