"""Backups hold videos as they hold images: their sealed files (original, poster, preview) in
the files part, their keys in the key part and never in the database copy; a video withdrawn
or erased after a backup has its key scrubbed from the key parts and comes back erased."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.backup import keyparts, manifest, service, verify
from app.backup.restore import restore_backup
from app.backup.snapshot import binary
from app.backup.stream import BackupBroken, read_part
from app.cli import cli
from app.db import make_engine, unit_of_work
from app.errors import NotFound
from app.evidence import crypto, images, storage, videos
from app.evidence.models import EvidenceVideo, Image, Video
from app.lifecycle.service import erase_early
from app.matching.engine import MatchEngine
from app.matching.withdrawal import withdraw_video
from app.matching.worker import drain
from app.settings import Settings, get_settings
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import factory_for, fresh_settings, grant
from tests.video import clips

BACKUP_KEY = base64.b64encode(b"v" * 32).decode()


def _plain(path, name: str) -> bytes:
    return b"".join(read_part(path, base64.b64decode(BACKUP_KEY), name))


def _clip(seed: int) -> bytes:
    """A one-second clip of its own (a different picture per seed)."""
    return clips.encode(clips.pan_frames(clips.scene(seed, (120, 64)), (96, 64), 15), rate=15)


def _take_in(settings: Settings, factory, data: bytes, account_id: int | None = None) -> int:
    """A video as intake leaves it (checked, sealed, linked to its post), then sampled as the
    match workers sample it."""
    prepared = videos.prepare(settings, data=data, filename="clip.mp4")
    with unit_of_work(factory) as s:
        video, created = videos.store(s, settings, SYSTEM, prepared)
        assert created
        post, _ = videos.link_post(s, SYSTEM, video, filename="clip.mp4",
                                   url=f"https://tiktok.example/v/{video.id}", posted_at=None)
        post.account_id = account_id
        s.add(post)
        video_id = video.id or 0
    index = MatchEngine(db=make_engine(settings.effective_database_url))
    try:
        drain(factory, index, settings=settings)
    finally:
        index.close()
    with factory() as s:
        assert s.get(Video, video_id).state == "sampled"
    return video_id


def _video(factory, video_id: int) -> Video:
    with factory() as s:
        video = s.get(Video, video_id)
        assert video is not None
        return video


def _frames(factory, video_id: int) -> list[tuple[float, int]]:
    with factory() as s:
        return [(f.t, f.image_id) for f in videos.frames_of(s, video_id)]


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


def _database_copy(kind: str, backup, tmp_path) -> bytes:
    """Everything of the backup's database copy, uncompressed; the video rows are there."""
    everything = _plain(backup / "database.part", "database")
    if kind == "sqlite":
        copy = tmp_path / "copy.db"
        copy.write_bytes(everything)
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT count(*), max(length(wrapped_key)) FROM video"
                                ).fetchone() == (2, 0)
        return everything
    dump = tmp_path / "dump"
    dump.write_bytes(everything)
    script = subprocess.run([binary("pg_restore"), "--file=-", str(dump)], check=True,
                            capture_output=True).stdout
    assert b"COPY public.video_frame" in script and b"COPY public.video " not in script
    rows = _plain(backup / "video-rows.part", "video-rows")
    assert len(rows.splitlines()) == 3  # the column names, then both videos
    return script + rows


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_video_withdrawn_after_a_backup_is_restored_erased_and_a_kept_one_opens(
        kind, tmp_path, request, monkeypatch):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    data = {"kept": _clip(11), "withdrawn": _clip(12)}
    ids = {name: _take_in(live, factory, clip) for name, clip in data.items()}
    before = {name: _video(factory, i) for name, i in ids.items()}
    frames = {name: _frames(factory, i) for name, i in ids.items()}
    assert all(frames.values())
    posters = {n: videos.read_derivative(live, v, "poster") for n, v in before.items()}
    previews = {n: videos.read_derivative(live, v, "preview") for n, v in before.items()}
    sealed = storage.read(live, before["withdrawn"].storage_key, "original")

    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    assert (body["videos"], body["video_keys"], body["video_derivatives"]) == (2, 2, 4)
    checked = _cli(monkeypatch, live, "backup", "verify", str(tmp_path / "b1"))
    assert checked.exit_code == 0, checked.output
    assert "2 videos" in checked.output
    copy = _database_copy(kind, tmp_path / "b1", tmp_path)
    for video in before.values():  # 2: no video key in the database copy
        assert video.wrapped_key not in copy and video.wrapped_key.hex().encode() not in copy
    [part] = keyparts.parts_in(live.backup_keys_folder)
    held = keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]
    for video in before.values():
        assert held[video.storage_key].kind == "video"
        assert held[video.storage_key].wrapped_key == video.wrapped_key

    with unit_of_work(factory) as s:  # 3: the withdrawal scrubs the key part at once
        withdraw_video(s, live, TEST_ACTOR, video=s.get(Video, ids["withdrawn"]),
                       reason="withdrawn: not our case")
    held = keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]
    assert before["withdrawn"].storage_key not in held
    assert before["kept"].storage_key in held
    assert base64.b64encode(before["withdrawn"].wrapped_key) not in _plain(part, "keys")
    with factory() as s:
        scrubbed = s.exec(select(AuditEvent).where(
            AuditEvent.action == "backup.keys.scrubbed",
            AuditEvent.object_type == "video")).all()
    assert [json.loads(e.object_ids) for e in scrubbed] == [[str(ids["withdrawn"])]]

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    restored_body = restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=part)
    assert restored_body["videos_erased_on_restore"] == [ids["withdrawn"]]
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)

    kept = _video(restored, ids["kept"])  # 1: the kept video opens, all three files
    assert videos.read_original(target, kept) == data["kept"]
    assert videos.read_derivative(target, kept, "poster") == posters["kept"]
    assert videos.read_derivative(target, kept, "preview") == previews["kept"]
    assert _frames(restored, ids["kept"]) == frames["kept"]
    with restored() as s:
        for _, image_id in frames["kept"]:
            picture = images.read_original(target, s.get(Image, image_id))
            assert picture[:8] == b"\x89PNG\r\n\x1a\n"

    gone = _video(restored, ids["withdrawn"])  # 2: the withdrawn one is erased
    assert gone.erased_at is not None and gone.wrapped_key == b""
    assert not any(p.exists() for p in storage.paths_of(target, gone.storage_key,
                                                        storage.VIDEO_KINDS))
    with pytest.raises(NotFound, match="erased"):
        videos.read_original(target, gone)
    with pytest.raises(crypto.SealBroken, match="destroyed"):  # the backup's copy of its file
        key = crypto.unwrap_key(target.master_key_bytes, gone.wrapped_key)
        crypto.unseal(key, sealed, storage_key=gone.storage_key, kind="original")
    with restored() as s:
        assert all(s.get(Image, i).erased_at is not None for _, i in frames["withdrawn"])
        assert s.exec(select(EvidenceVideo.erased_at).where(
            EvidenceVideo.video_id == ids["withdrawn"])).one() is not None

    assert _cli(monkeypatch, target, "audit", "link").exit_code == 0
    verified = _cli(monkeypatch, target, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_early_erasure_scrubs_the_accounts_video_key_from_the_key_parts(
        kind, tmp_path, request):
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    with unit_of_work(factory) as s:
        account = Account(platform="tiktok", handle="someone", status="new")
        s.add(account)
        s.flush()
        account_id = account.id or 0
    video_id = _take_in(live, factory, _clip(21), account_id)
    video = _video(factory, video_id)
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    [part] = keyparts.parts_in(live.backup_keys_folder)
    assert video.storage_key in keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]

    with unit_of_work(factory) as s:
        erase_early(s, live, TEST_ACTOR, account=s.get(Account, account_id),
                    reason="a supervisor's decision")
    assert _video(factory, video_id).erased_at is not None
    assert video.storage_key not in keyparts.read(part, base64.b64decode(BACKUP_KEY))[1]
    with factory() as s:
        named = s.exec(select(AuditEvent.object_ids).where(
            AuditEvent.action == "backup.keys.scrubbed",
            AuditEvent.object_type == "video")).all()
    assert [json.loads(ids) for ids in named] == [[str(video_id)]]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_key_part_without_video_keys_restores_the_videos_erased_and_the_images_open(
        kind, tmp_path, request):
    """A key part as written before videos were backed up (image lines only) still reads;
    the videos it has no key for come back erased."""
    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    video_id = _take_in(live, factory, _clip(31))
    frames = _frames(factory, video_id)
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    [part] = keyparts.parts_in(live.backup_keys_folder)
    taken_at, held = keyparts.read(part, base64.b64decode(BACKUP_KEY))
    older = tmp_path / "older-keys.part"
    keyparts.write(older, base64.b64decode(BACKUP_KEY), taken_at,
                   [k for k in held.values() if k.kind == "image"])
    assert {k.kind for k in keyparts.read(older, base64.b64decode(BACKUP_KEY))[1].values()
            } == {"image"}

    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    body = restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=older)
    assert body["videos_erased_on_restore"] == [video_id]
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)
    with pytest.raises(NotFound, match="erased"):
        videos.read_derivative(target, _video(restored, video_id), "poster")
    with restored() as s:  # its frames are images with keys of their own: they open
        for _, image_id in frames:
            assert images.read_original(target, s.get(Image, image_id))[:4] == b"\x89PNG"


def test_verify_counts_the_videos_files(tmp_path, request):
    live = fresh_settings("sqlite", tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    _take_in(live, factory, _clip(41))
    service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    body = verify.verify_backup(live, tmp_path / "b1")
    assert (body["videos"], body["video_derivatives"]) == (1, 2)
    for field, wrong in (("videos", 2), ("video_derivatives", 0)):  # MACed, one count wrong
        (tmp_path / "b1" / manifest.NAME).unlink()
        manifest.write(tmp_path / "b1", base64.b64decode(BACKUP_KEY), {**body, field: wrong})
        with pytest.raises(BackupBroken, match="the manifest says"):
            verify.verify_backup(live, tmp_path / "b1")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_video_whose_preview_is_not_made_yet_is_backed_up_and_gets_it_after_a_restore(
        kind, tmp_path, request):
    from app.db import utcnow
    from app.matching import queue, sampling
    from app.matching.models import VideoPreview
    from app.matching.previews import preview_states

    live = fresh_settings(kind, tmp_path / "live", request, backup_key=BACKUP_KEY)
    factory = factory_for(live)
    prepared = videos.prepare(live, data=_clip(21), filename="clip.mp4")
    with unit_of_work(factory) as s:
        video, _ = videos.store(s, live, SYSTEM, prepared)
        videos.link_post(s, SYSTEM, video, filename="clip.mp4", url="", posted_at=None)
        video_id = video.id or 0
    index = MatchEngine(db=make_engine(live.effective_database_url))
    try:  # sampled (frames and poster), its preview still queued
        with unit_of_work(factory) as s:
            taken = queue.claim(s, video_id, utcnow(), "test:1", on=queue.SAMPLINGS)
        assert sampling.run_sampling(factory, index, SYSTEM, taken, settings=live)
    finally:
        index.close()
    poster = videos.read_derivative(live, _video(factory, video_id), "poster")

    body = service.write_backup(live, tmp_path / "b1", TEST_ACTOR)
    assert (body["videos"], body["video_derivatives"]) == (1, 1)  # the poster alone
    part = keyparts.parts_in(live.backup_keys_folder)[0]
    target = fresh_settings(kind, tmp_path / "restored", request, migrate=False,
                            backup_key=BACKUP_KEY)
    restore_backup(target, tmp_path / "b1", TEST_ACTOR, keys=part)
    if kind == "postgres":
        grant(target)
    restored = factory_for(target)
    kept = _video(restored, video_id)
    assert videos.read_derivative(target, kept, "poster") == poster
    with pytest.raises(NotFound, match="has no preview yet"):
        videos.read_derivative(target, kept, "preview")
    with restored() as s:
        assert preview_states(s, [video_id], utcnow())[video_id].state == "waiting"
    index = MatchEngine(db=make_engine(target.effective_database_url))
    try:  # a worker on the restored system makes it
        drain(restored, index, settings=target)
    finally:
        index.close()
    with restored() as s:
        assert s.get(VideoPreview, video_id).done_at is not None
    assert videos.read_derivative(target, kept, "preview")[4:8] == b"ftyp"
