"""Evidence packs under keys of their own: re-wrapped by rotation, packs sealed the old way
converted (never left opening under nothing), erased with an image they hold."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.accounts.models import Account
from app.auth.models import User
from app.cli import cli
from app.db import unit_of_work
from app.evidence import crypto, images, packkeys, storage
from app.evidence.models import PackKey
from app.keys import packconvert, rotation
from app.settings import Settings, get_settings
from app.takedowns import packfiles
from app.takedowns.models import Notice, NoticePreview, Takedown
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import KEY_1, KEY_2, factory_for, fresh_settings, ingest


def _ring(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def _zip(image_ids: list[int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"images": [
            {"image_id": i, "file": f"images/{n:03d}.jpg"} for n, i in enumerate(image_ids)]}))
    return buffer.getvalue()


def _takedown(factory) -> int:
    with unit_of_work(factory) as session:
        user = User(username="ann", role="analyst", password_hash="x")
        account = Account(platform="instagram", handle="cell_a1")
        session.add_all([user, account])
        session.flush()
        takedown = Takedown(account_id=account.id, platform="instagram", reason="r",
                            author_id=user.id)
        session.add(takedown)
        session.flush()
        return takedown.id or 0


def _legacy_pack(factory, settings: Settings, takedown_id: int, data: bytes) -> str:
    """A pack as sealed before packs had keys of their own."""
    pack_key = storage.new_storage_key()
    storage.write_atomic(packfiles.path_for(settings, pack_key), packfiles.seal(
        packfiles.legacy_key(settings.master_key_bytes, pack_key), pack_key, data))
    with unit_of_work(factory) as session:
        number = len(session.exec(select(Notice.id)).all()) + 1
        session.add(Notice(takedown_id=takedown_id, number=number, channel="portal",
                           recipient="x", pack_key=pack_key, pack_sha256="x"))
    return pack_key


def test_a_pack_key_is_rewrapped_by_rotation_and_the_file_is_left_alone(tmp_path, request):
    old = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(old)
    image_id, _ = ingest(factory, old, 1)
    takedown_id = _takedown(factory)
    data = _zip([image_id])
    with unit_of_work(factory) as session:
        pack_key = packfiles.store(session, old, data, [image_id])
        session.add(NoticePreview(takedown_id=takedown_id, pack_key=pack_key, pack_sha256="x"))
    sealed = packfiles.path_for(old, pack_key).read_bytes()
    both = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={"1": KEY_1})
    with factory() as session:
        assert packfiles.read_with_id(session, both, pack_key) == (data, "1")
        assert rotation.pack_key_counts(session, both) == {"1": 1}
    assert rotation.rewrap_packs(factory, both, TEST_ACTOR) == 1
    assert packfiles.path_for(old, pack_key).read_bytes() == sealed  # only the key moved
    only_new = _ring(both, old_master_keys={})
    with factory() as session:
        assert packfiles.read_with_id(session, only_new, pack_key) == (data, "2")
        with pytest.raises(packfiles.PackMissing, match="not configured"):
            packfiles.read(session, old, pack_key)  # its key is wrapped under key 2 now


def test_packs_sealed_the_old_way_get_keys_of_their_own(tmp_path, request):
    settings = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(settings)
    kept, _ = ingest(factory, settings, 1)
    doomed, _ = ingest(factory, settings, 2)
    takedown_id = _takedown(factory)
    data = _zip([kept])
    old_pack = _legacy_pack(factory, settings, takedown_id, data)
    erased_pack = _legacy_pack(factory, settings, takedown_id, _zip([doomed]))
    with unit_of_work(factory) as session:
        images.erase_image(session, settings, TEST_ACTOR, image_id=doomed, reason="erased")
    with factory() as session:
        assert packfiles.read_with_id(session, settings, old_pack) == (data, packfiles.LEGACY)

    assert packconvert.convert_packs(factory, settings, TEST_ACTOR) == 1
    with factory() as session:
        assert packfiles.read_with_id(session, settings, old_pack) == (data, "1")
        with pytest.raises(packfiles.PackErased, match=f"erased with image {doomed}"):
            packfiles.read(session, settings, erased_pack)
    assert not packfiles.path_for(settings, erased_pack).exists()
    blob = packfiles.path_for(settings, old_pack).read_bytes()
    with pytest.raises(crypto.SealBroken):  # no longer under the key derived from the master
        crypto.unseal(packfiles.legacy_key(settings.master_key_bytes, old_pack), blob,
                      storage_key=old_pack, kind="evidence-pack")
    assert packconvert.convert_packs(factory, settings, TEST_ACTOR) == 0  # nothing left

    # erasing the image it holds destroys its own key: it opens for nobody from now on
    with unit_of_work(factory) as session:
        images.erase_image(session, settings, TEST_ACTOR, image_id=kept, reason="retention")
    with factory() as session:
        row = session.get(PackKey, old_pack)
        assert row is not None and row.wrapped_key == b"" and row.erased_at is not None
        assert row.erasure_reason == f"erased with image {kept} (retention)"
    with pytest.raises(crypto.SealBroken):  # the bytes of the file, kept anywhere, with no key
        crypto.unseal(packfiles.legacy_key(settings.master_key_bytes, old_pack), blob,
                      storage_key=old_pack, kind="evidence-pack")


def test_a_conversion_killed_after_the_key_row_leaves_a_pack_that_still_opens(tmp_path, request):
    settings = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(settings)
    image_id, _ = ingest(factory, settings, 1)
    data = _zip([image_id])
    pack_key = _legacy_pack(factory, settings, _takedown(factory), data)
    with unit_of_work(factory) as session:  # the key row committed, the file not sealed again
        packkeys.new_key(session, settings, pack_key, [image_id])
    with factory() as session:
        assert packfiles.read_with_id(session, settings, pack_key) == (data, packfiles.LEGACY)
    assert packconvert.convert_packs(factory, settings, TEST_ACTOR) == 1
    with factory() as session:
        assert packfiles.read_with_id(session, settings, pack_key) == (data, "1")


def test_keys_status_counts_packs_not_converted_and_convert_packs_converts_them(
        tmp_path, request, monkeypatch):
    settings = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(settings)
    image_id, _ = ingest(factory, settings, 1)
    _legacy_pack(factory, settings, _takedown(factory), _zip([image_id]))
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CELLWATCH_MASTER_KEY", KEY_1)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        status = runner.invoke(cli, ["keys", "status"])
        assert f"evidence packs: {packfiles.LEGACY}: 1" in status.output
        assert "key parts: no erased key waits to be scrubbed" in status.output
        converted = runner.invoke(cli, ["keys", "convert-packs"])
        assert converted.exit_code == 0, converted.output
        assert "evidence packs: 1 given keys of their own" in converted.output
        status = runner.invoke(cli, ["keys", "status"])
        assert "evidence packs: 1 (current): 1" in status.output
    finally:
        get_settings.cache_clear()
