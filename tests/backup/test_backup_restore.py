"""Backup while uploads run, restore on an empty machine: every committed image intact, the
audit log verifies, erasures made during the backup stay erased, files private."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select
from typer.testing import CliRunner

from app.audit.linker import link_all
from app.audit.verify import write_checkpoint
from app.backup import keyparts, service, verify
from app.backup.stream import BackupBroken
from app.cli import cli
from app.db import make_engine, unit_of_work
from app.evidence import images, storage
from app.evidence.models import Image
from app.settings import Settings, get_settings
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import KEY_2, factory_for, fresh_settings, grant, ingest, read_original

BACKUP_KEY = "YmFja3VwLWtleS1mb3ItdGhlLXRlc3RzLW9ubHkhISE="  # 32 bytes, tests only


def _upload(factory, settings: Settings, seed: int) -> tuple[int, bytes]:
    """One upload, retried as the web app retries a request SQLite refused to a second
    writer (it answers 'database is locked' to a deferred transaction)."""
    for _ in range(20):
        try:
            return ingest(factory, settings, seed)
        except OperationalError:
            continue
    raise AssertionError("an upload never got its turn")


class Uploads:
    """Uploads in two threads until stopped; what committed is recorded (id -> bytes)."""

    def __init__(self, factory, settings: Settings) -> None:
        self.factory, self.settings = factory, settings
        self.committed: dict[int, bytes] = {}
        self.errors: list[BaseException] = []
        self.stop, self.lock = threading.Event(), threading.Condition()
        self.threads = [threading.Thread(target=self._run, args=(1000 + n,)) for n in range(2)]

    def _run(self, seed: int) -> None:
        while not self.stop.is_set():
            try:
                image_id, data = _upload(self.factory, self.settings, seed)
            except BaseException as exc:  # noqa: BLE001  reported by the test
                self.errors.append(exc)
                return
            with self.lock:
                self.committed[image_id] = data
                self.lock.notify_all()
            seed += 2

    def wait_for(self, count: int) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.committed) >= count or self.errors, 120)

    def __enter__(self) -> Uploads:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def _private(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        mode = stat.S_IMODE(item.stat().st_mode)
        assert mode == (0o700 if item.is_dir() else 0o600), f"{item}: {oct(mode)}"


def _cli(monkeypatch, settings: Settings, *args: str):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CELLWATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CELLWATCH_MIGRATE_DATABASE_URL", settings.migrate_database_url)
    monkeypatch.setenv("CELLWATCH_BACKUP_KEY", BACKUP_KEY)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_backup_under_write_load_restores_every_committed_image(kind, tmp_path, request,
                                                                monkeypatch):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    first = dict(_upload(factory, live, seed) for seed in (1, 2, 3, 4))
    engine = make_engine(live.effective_database_url)
    assert link_all(engine, factory, key=live.audit_key_bytes) > 0
    with factory() as session:
        write_checkpoint(session, live.checkpoint_path, key=live.audit_key_bytes)
    doomed = min(first)
    real_write_files = service._write_files
    window: dict[str, object] = {}

    def files_after_more_commits(settings, contents, checkpoint, part):
        # between the database snapshot and the copy of the files: more uploads commit, and
        # an image the snapshot holds is erased (its files deleted)
        window["held"] = {image_id for image_id, _ in contents.images}
        uploads.wait_for(len(uploads.committed) + 3)
        with unit_of_work(factory) as session:
            images.erase_image(session, live, TEST_ACTOR, image_id=doomed, reason="test")
        return real_write_files(settings, contents, checkpoint, part)

    monkeypatch.setattr(service, "_write_files", files_after_more_commits)
    with Uploads(factory, live) as uploads:
        uploads.wait_for(3)  # the load is on before the backup starts
        started_with = set(uploads.committed)
        body = service.write_backup(live, tmp_path / "backup", TEST_ACTOR)
        uploads.wait_for(len(uploads.committed) + 2)  # and still on after it
    assert uploads.errors == []
    committed = {**first, **uploads.committed}
    held = window["held"]
    assert isinstance(held, set)
    assert set(first) | started_with <= held  # committed before the backup began
    assert set(committed) - held  # some committed while it ran, after its snapshot
    assert body["erased_since_snapshot"] == [doomed] and body["missing_images"] == []
    _private(tmp_path / "backup")
    assert _cli(monkeypatch, live, "backup", "verify", str(tmp_path / "backup")).exit_code == 0

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    [key_part] = keyparts.parts_in(live.backup_keys_folder)  # kept apart, by default
    done = _cli(monkeypatch, target, "restore", str(tmp_path / "backup"), "--keys", str(key_part))
    assert done.exit_code == 0, done.output
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)
    with restored() as session:
        rows = session.exec(select(Image)).all()
    assert {row.id for row in rows} == held  # the snapshot: no more, no less
    for row in rows:
        if row.id == doomed:  # erased during the backup: erased again, key and files gone
            assert row.erased_at is not None and row.wrapped_key == b""
            assert not any(p.exists() for p in storage.paths_of(target, row.storage_key))
            continue
        data = read_original(restored, target, row.id or 0)
        assert hashlib.sha256(data).hexdigest() == hashlib.sha256(committed[row.id]).hexdigest()
        assert images.read_display(target, row)  # the display copy opens too
    _private(tmp_path / "restored")
    assert _cli(monkeypatch, target, "audit", "link").exit_code == 0
    verified = _cli(monkeypatch, target, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output and "against the checkpoint" in verified.output
    with restored() as session:
        erased_again = session.exec(select(Image.id).where(
            col(Image.erased_at).is_not(None))).all()
    assert erased_again == [doomed]
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_restore_refuses_a_machine_that_is_not_empty(kind, tmp_path, request, monkeypatch):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    image_id, _ = _upload(factory, live, 7)
    service.write_backup(live, tmp_path / "backup", TEST_ACTOR)
    # the live machine itself: its data folder and its database are in use
    keys = ["--keys", str(keyparts.parts_in(live.backup_keys_folder)[0])]
    refused = _cli(monkeypatch, live, "restore", str(tmp_path / "backup"), *keys)
    assert refused.exit_code == 1
    assert "nothing restored: the data folder" in refused.output
    assert "is not empty" in refused.output
    if kind == "postgres":  # an empty folder, but a database with tables in it
        other = live.model_copy(update={"data_dir": tmp_path / "empty"})
        refused = _cli(monkeypatch, other, "restore", str(tmp_path / "backup"), *keys)
        assert refused.exit_code == 1 and "the database is not empty" in refused.output
        assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())
    with factory() as session:  # nothing changed
        assert read_original(factory, live, image_id)
        assert len(session.exec(select(Image)).all()) == 1


def test_verify_finds_a_changed_part_a_forged_manifest_and_the_wrong_key(tmp_path, request,
                                                                        monkeypatch):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    _upload(factory_for(live), live, 9)
    folder = tmp_path / "backup"
    service.write_backup(live, folder, TEST_ACTOR)
    ok = _cli(monkeypatch, live, "backup", "verify", str(folder))
    assert ok.exit_code == 0 and "backup verified: sqlite database at migration" in ok.output

    wrong_key = live.model_copy(update={"backup_key": KEY_2})
    with pytest.raises(BackupBroken, match="does not verify under this backup key"):
        verify.verify_backup(wrong_key, folder)

    part = folder / "files.part"
    original = part.read_bytes()
    part.write_bytes(original[:-40] + bytes(b ^ 1 for b in original[-40:]))
    broken = _cli(monkeypatch, live, "backup", "verify", str(folder))
    assert broken.exit_code == 1
    assert "backup NOT verified: files.part differs from the manifest" in broken.output
    part.write_bytes(original)

    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"images": 1', '"images": 2'))
    forged = _cli(monkeypatch, live, "backup", "verify", str(folder))
    assert forged.exit_code == 1 and "does not verify under this backup key" in forged.output


def test_backup_refuses_a_folder_in_use_and_the_development_key_in_production(tmp_path,
                                                                             request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "old.txt").write_text("x")
    with pytest.raises(service.BackupFailed, match="not an empty folder"):
        service.write_backup(live, tmp_path / "used", TEST_ACTOR)
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["old.txt"]
    production = Settings(environment="production", data_dir=live.data_dir)
    with pytest.raises(service.BackupFailed, match="CELLWATCH_BACKUP_KEY is missing"):
        service.write_backup(production, tmp_path / "new", TEST_ACTOR)
    assert not (tmp_path / "new").exists()


def test_backup_files_are_private_whatever_the_umask(tmp_path, request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY,
                          backup_keys_dir=str(tmp_path / "keys"))
    (tmp_path / "keys").mkdir()
    ingest(factory_for(live), live, 5)
    previous = os.umask(0o022)  # as a shell or cron would leave it
    try:
        service.write_backup(live, tmp_path / "backup", TEST_ACTOR)
    finally:
        os.umask(previous)
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "database.part", "files.part", "manifest.json"]
    _private(tmp_path / "backup")
    _private(tmp_path / "keys")


def test_a_backup_that_fails_half_way_leaves_nothing(tmp_path, request, monkeypatch):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    ingest(factory_for(live), live, 6)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service, "_write_files", disk_full)
    (tmp_path / "given").mkdir()  # an empty folder the operator made stays, empty
    for dest in (tmp_path / "new", tmp_path / "given"):
        with pytest.raises(OSError, match="No space left"):
            service.write_backup(live, dest, TEST_ACTOR)
    assert not (tmp_path / "new").exists()
    assert list((tmp_path / "given").iterdir()) == []
    assert [p.name for p in live.data_dir.iterdir() if p.name.startswith(".backup-")] == []
