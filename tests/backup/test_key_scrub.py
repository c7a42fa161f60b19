"""Erasing an image removes its key from every key part in the key part folder at once, by
every path that erases: an older backup restored afterwards brings the image back erased."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from app import keyscrub
from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.auth.models import User
from app.backup import keyparts, service
from app.backup.restore import restore_backup
from app.backup.stream import read_part
from app.cli import cli
from app.db import make_engine, unit_of_work, utcnow
from app.evidence import crypto, images, storage
from app.evidence.models import EvidenceImage, Image, PackKey
from app.lifecycle import job
from app.lifecycle.service import erase_early
from app.matching.withdrawal import withdraw
from app.settings import Settings, get_settings
from app.takedowns import packfiles
from app.takedowns.models import Notice, Takedown
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import factory_for, fresh_settings, grant, ingest, read_original

BACKUP_KEY = base64.b64encode(b"k" * 32).decode()


def _cli(monkeypatch, settings: Settings, *args: str):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CELLWATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CELLWATCH_MIGRATE_DATABASE_URL", settings.migrate_database_url)
    monkeypatch.setenv("CELLWATCH_BACKUP_KEY", BACKUP_KEY)
    monkeypatch.setenv("CELLWATCH_BACKUP_KEYS_DIR", settings.backup_keys_dir)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()


def _plain(path) -> bytes:
    return b"".join(read_part(path, base64.b64decode(BACKUP_KEY), "keys"))


def _evidence_of(factory, handle: str, image_id: int, closed_days_ago: int | None) -> int:
    with unit_of_work(factory) as session:
        closed = None if closed_days_ago is None else utcnow() - timedelta(days=closed_days_ago)
        account = Account(platform="instagram", handle=handle,
                          status="new" if closed is None else "removed", closed_at=closed)
        session.add(account)
        session.flush()
        session.add(EvidenceImage(image_id=image_id, account_id=account.id,
                                  original_filename="x.jpg"))
        return account.id or 0


def _held(factory, image_id: int) -> Image:
    with factory() as session:
        image = session.get(Image, image_id)
        assert image is not None
        return image


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_every_erasure_scrubs_the_key_parts_and_an_older_backup_restores_them_erased(
        kind, tmp_path, request, monkeypatch):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    ids = {name: ingest(factory, live, seed)[0] for seed, name in enumerate(
        ("kept", "withdrawn", "erased", "retained", "early"), start=1)}
    originals = {name: read_original(factory, live, i) for name, i in ids.items()}
    closed = _evidence_of(factory, "closed_long_ago", ids["retained"], 800)
    open_account = _evidence_of(factory, "open_account", ids["early"], None)
    before = {name: _held(factory, i) for name, i in ids.items()}
    sealed = {name: storage.read(live, image.storage_key, "original")  # as the backup holds it
              for name, image in before.items()}

    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    assert body["keys"].startswith("apart: keys-")
    [part] = keyparts.parts_in(live.backup_keys_folder)
    assert live.backup_keys_folder == live.data_dir / "backup-keys"
    assert os.stat(live.backup_keys_folder).st_mode & 0o777 == 0o700
    mtime = part.stat().st_mtime_ns
    assert set(keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]) == {
        image.storage_key for image in before.values()}

    # four paths that erase: a withdrawal, an erasure, retention, an early erasure
    with unit_of_work(factory) as session:
        withdraw(session, live, TEST_ACTOR, image=session.get(Image, ids["withdrawn"]),
                 reason="withdrawn: not our case")
    with unit_of_work(factory) as session:
        images.erase_image(session, live, TEST_ACTOR, image_id=ids["erased"], reason="test")
    engine = make_engine(live.effective_database_url)
    report = job.run(engine, live, owner=make_engine(live.effective_migrate_url))
    engine.dispose()
    assert report.counts["images_erased"] == 1 and report.scrub.pending == 0
    with unit_of_work(factory) as session:
        erase_early(session, live, TEST_ACTOR, account=session.get(Account, open_account),
                    reason="a supervisor's decision")
    assert closed

    keys, plain = keyparts.read(part, base64.b64decode(BACKUP_KEY))[1], _plain(part)
    assert set(keys) == {before["kept"].storage_key}
    for name in ("withdrawn", "erased", "retained", "early"):
        assert base64.b64encode(before[name].wrapped_key) not in plain
    assert part.stat().st_mtime_ns == mtime  # pruning still ages it from its backup
    assert [p.name for p in live.backup_keys_folder.iterdir() if p.name.startswith(".tmp")] == []
    with factory() as session:
        assert session.exec(select(keyscrub.KeyScrub)).all() == []
        scrubbed = session.exec(select(AuditEvent).where(
            AuditEvent.action == "backup.keys.scrubbed").order_by(col(AuditEvent.id))).all()
    assert [json.loads(e.object_ids) for e in scrubbed] == [
        [str(ids[n])] for n in ("withdrawn", "erased", "retained", "early")]
    assert {json.loads(e.details)["scrubbed"]["key_parts"] for e in scrubbed} == {1}
    for event in scrubbed:  # ids and counts: nothing of the erased images
        assert all(before[n].storage_key not in event.details for n in before)

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    restored_body = restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=part)
    assert restored_body["erased_on_restore"] == 4
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)
    assert read_original(restored, target, ids["kept"]) == originals["kept"]
    for name in ("withdrawn", "erased", "retained", "early"):
        row = _held(restored, ids[name])
        assert row.erased_at is not None and row.wrapped_key == b""
        assert not any(p.exists() for p in storage.paths_of(target, row.storage_key))
        assert not storage.path_for(live, row.storage_key, "original").exists()
        with pytest.raises(crypto.SealBroken, match="destroyed"):  # the backup's copy of
            key = crypto.unwrap_key(target.master_key_bytes, row.wrapped_key)  # its file
            crypto.unseal(key, sealed[name], storage_key=row.storage_key, kind="original")
    assert _cli(monkeypatch, target, "audit", "link").exit_code == 0
    verified = _cli(monkeypatch, target, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output


def test_an_unreachable_key_part_folder_leaves_the_scrub_pending_until_jobs_run(
        tmp_path, request, monkeypatch):
    folder = tmp_path / "other-storage" / "keys"
    folder.mkdir(parents=True)
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY,
                          backup_keys_dir=str(folder))
    factory = factory_for(live)
    kept, _ = ingest(factory, live, 1)
    doomed, _ = ingest(factory, live, 2)
    doomed_key = _held(factory, doomed).storage_key
    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    folder.rename(tmp_path / "other-storage" / "unmounted")  # the other storage is gone

    with unit_of_work(factory) as session:  # the erasure holds; its scrub waits
        images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="test")
    with factory() as session:
        [row] = session.exec(select(keyscrub.KeyScrub)).all()
        assert (row.kind, row.image_id, row.attempts) == ("image", doomed, 1)
        assert "is missing" in row.last_error
        [event] = session.exec(select(AuditEvent).where(
            AuditEvent.action == "backup.keys.scrub_pending")).all()
        assert event.outcome == "failure" and json.loads(event.object_ids) == [str(doomed)]
    status = _cli(monkeypatch, live, "keys", "status")
    assert "1 erased keys still PENDING removal" in status.output
    assert "(CELLWATCH_BACKUP_KEYS_DIR) is missing" in status.output
    ran = _cli(monkeypatch, live, "jobs", "run")
    assert ran.exit_code == 0, ran.output
    assert "key parts: 0 erased keys removed from 0 key parts; 1 still PENDING" in ran.output

    (tmp_path / "other-storage" / "unmounted").rename(folder)  # mounted again
    ran = _cli(monkeypatch, live, "jobs", "run")
    assert "key parts: 1 erased keys removed from 1 key parts" in ran.output
    assert "no erased key waits" in _cli(monkeypatch, live, "keys", "status").output
    [part] = keyparts.parts_in(folder)
    assert doomed_key not in keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]

    # a machine given the same key part folder restores without naming the key part
    target = fresh_settings("sqlite", tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY, backup_keys_dir=str(folder))
    assert body["keys"] == f"apart: {part.name}"
    assert restore_backup(target, tmp_path / "b1", TEST_ACTOR)["erased_on_restore"] == 1
    assert read_original(factory_for(target), target, kept)


def test_a_backup_with_its_keys_inside_is_the_exception(tmp_path, request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    doomed, _ = ingest(factory, live, 1)
    wrapped = _held(factory, doomed).wrapped_key
    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR, keys_inside=True)
    assert body["keys"] == "in the backup"
    assert not live.backup_keys_folder.exists()
    with unit_of_work(factory) as session:
        images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="test")
    # its manifest seals the key part: nothing rewrites it, as the README says
    assert base64.b64encode(wrapped) in _plain(tmp_path / "b1" / keyparts.IN_BACKUP)
    with factory() as session:
        assert session.exec(select(keyscrub.KeyScrub)).all() == []


def _pack_of(factory, settings: Settings, image_ids: list[int], handle: str) -> str:
    """A takedown's notice #1 with a pack holding copies of `image_ids`."""
    with unit_of_work(factory) as session:
        user = User(username=f"u_{handle}", role="analyst", password_hash="x")
        account = Account(platform="instagram", handle=handle)
        session.add_all([user, account])
        session.flush()
        takedown = Takedown(account_id=account.id, platform="instagram", reason="r",
                            author_id=user.id)
        session.add(takedown)
        session.flush()
        pack_key = packfiles.store(session, settings, f"zip {handle}".encode(), image_ids)
        session.add(Notice(takedown_id=takedown.id, number=1, channel="portal", recipient="x",
                           pack_key=pack_key, pack_sha256="x"))
        return pack_key


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_pack_erased_with_its_image_opens_from_no_older_backup(kind, tmp_path, request):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    doomed, _ = ingest(factory, live, 1)
    kept, _ = ingest(factory, live, 2)
    erased_pack = _pack_of(factory, live, [doomed, kept], "both")
    kept_pack = _pack_of(factory, live, [kept], "kept_only")
    with factory() as session:
        wrapped = session.get(PackKey, erased_pack).wrapped_key
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    for part in (tmp_path / "b1").glob("*.part"):  # the database copy holds no pack key
        assert wrapped not in b"".join(read_part(part, base64.b64decode(BACKUP_KEY),
                                                 part.stem))
    [key_part] = keyparts.parts_in(live.backup_keys_folder)
    assert {erased_pack, kept_pack} <= set(keyparts.read(key_part,
                                                         base64.b64decode(BACKUP_KEY))[1])

    with unit_of_work(factory) as session:
        images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="retention")
    assert set(keyparts.read(key_part, base64.b64decode(BACKUP_KEY))[1]) == {
        _held(factory, kept).storage_key, kept_pack}
    with factory() as session, pytest.raises(
            packfiles.PackErased, match=rf"erased with image {doomed} \(retention\)"):
        packfiles.read(session, live, erased_pack)
    assert not packfiles.path_for(live, erased_pack).exists()
    later = service.write_backup(live, tmp_path / "b2", TEST_ACTOR)
    assert later["packs"] == 1 and later["missing_packs"] == []  # erased is not missing

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=key_part)
    if kind == "postgres":
        grant(target)
    with factory_for(target)() as session:
        assert packfiles.read(session, target, kept_pack) == b"zip kept_only"
        row = session.get(PackKey, erased_pack)
        assert row.erased_at is not None and row.wrapped_key == b""
        with pytest.raises(packfiles.PackErased):
            packfiles.read(session, target, erased_pack)
    assert not packfiles.path_for(target, erased_pack).exists()


def test_an_erasure_committed_while_a_backup_writes_its_key_part_is_scrubbed_from_it(
        tmp_path, request, monkeypatch):
    """The race the folder's lock closes: the backup has read which images were erased, an
    erasure commits, then the backup writes its key part with that image's key in it. The
    erasure's scrub waits for the lock, and finds the new part in place."""
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    ingest(factory, live, 1)
    doomed, _ = ingest(factory, live, 2)
    doomed_key = _held(factory, doomed).storage_key
    real = service._erased_since
    eraser: list[threading.Thread] = []

    def erase() -> None:
        with unit_of_work(factory) as session:
            images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="race")

    def erased_then_an_erasure(settings, contents, snapshot_at):
        seen = real(settings, contents, snapshot_at)
        eraser.append(threading.Thread(target=erase))
        eraser[0].start()
        for _ in range(400):  # until it has committed (its scrub then waits for the lock)
            if _held(factory, doomed).erased_at is not None:
                break
            time.sleep(0.05)
        return seen

    monkeypatch.setattr(service, "_erased_since", erased_then_an_erasure)
    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    eraser[0].join(timeout=60)
    assert body["erased_since_snapshot"] == []  # the backup did not see it
    [part] = keyparts.parts_in(live.backup_keys_folder)
    assert doomed_key not in keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]
    with factory() as session:
        assert session.exec(select(keyscrub.KeyScrub)).all() == []


def test_a_key_part_that_does_not_open_under_the_backup_key_leaves_the_scrub_pending(
        tmp_path, request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    doomed, _ = ingest(factory, live, 1)
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    changed = live.model_copy(update={"backup_key": base64.b64encode(b"n" * 32).decode()})
    with unit_of_work(factory) as session:
        images.erase_image(session, changed, TEST_ACTOR, image_id=doomed, reason="test")
    with factory() as session:
        [row] = session.exec(select(keyscrub.KeyScrub)).all()
        assert "fails authentication" in row.last_error
    assert keyscrub.run_pending(factory, live, TEST_ACTOR).scrubbed == 1  # the right key
