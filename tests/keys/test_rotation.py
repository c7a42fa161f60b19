"""Master key rotation while the service runs: interrupted, resumed, and the old key removed."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.auth import factors
from app.auth.models import TotpFactor, User
from app.cli import cli
from app.db import unit_of_work
from app.evidence import crypto, images, videos
from app.evidence.models import Image, Video
from app.keys import rotation
from app.settings import Settings, get_settings
from tests.conftest import TEST_ACTOR
from tests.support.lifecycle import KEY_1, KEY_2, factory_for, fresh_settings, ingest, read_original
from tests.video import clips


class Interrupted(Exception):
    pass


def _ring(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_rotation_interrupted_resumed_then_the_old_key_removed(kind, tmp_path, request):
    old = fresh_settings(kind, tmp_path / "data", request, master_key=KEY_1, master_key_id="1")
    factory = factory_for(old)
    held = dict(ingest(factory, old, seed) for seed in range(1, 8))
    # the new key is current; the old one stays listed until rotation finishes
    both = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={"1": KEY_1})
    newest, _ = ingest(factory, both, 50)  # intake during rotation wraps under the new key
    held[newest] = read_original(factory, both, newest)

    def stop_after_first_batch(done: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        rotation.rewrap_images(factory, both, TEST_ACTOR, batch_size=3,
                               after_batch=stop_after_first_batch)
    with factory() as session:
        assert rotation.image_key_counts(session) == {"1": 4, "2": 4}
    # interrupted inside a batch: that batch rolls back whole, nothing half-wrapped
    calls = {"n": 0}
    real_wrap = crypto.wrap_key

    def failing_wrap(master: bytes, key: bytes) -> bytes:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Interrupted
        return real_wrap(master, key)

    crypto.wrap_key = failing_wrap  # type: ignore[assignment]
    try:
        with pytest.raises(Interrupted):
            rotation.rewrap_images(factory, both, TEST_ACTOR, batch_size=3)
    finally:
        crypto.wrap_key = real_wrap  # type: ignore[assignment]
    with factory() as session:
        assert rotation.image_key_counts(session) == {"1": 4, "2": 4}
    for image_id, data in held.items():  # readable throughout, whichever key wraps it
        assert read_original(factory, both, image_id) == data

    # an image erased between runs stays erased: its key is not written back
    with factory() as session:
        erased = session.exec(select(Image.id).where(Image.master_key_id == "1")).first()
    with unit_of_work(factory) as session:
        images.erase_image(session, both, TEST_ACTOR, image_id=erased, reason="test erasure")
    def every_image_opens(done: int) -> None:  # readable throughout, after every batch
        for image_id, data in held.items():
            if image_id != erased:
                assert read_original(factory, both, image_id) == data
        checked.append(done)

    checked: list[int] = []
    assert rotation.rewrap_images(factory, both, TEST_ACTOR, batch_size=2,
                                  after_batch=every_image_opens) == 3
    assert checked == [2, 3]
    with factory() as session:
        assert rotation.image_key_counts(session) == {"2": 7}
        assert session.get(Image, erased).wrapped_key == b""

    only_new = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={})
    for image_id, data in held.items():
        if image_id != erased:
            assert read_original(factory, only_new, image_id) == data
    with factory() as session:  # the retired key alone opens nothing any more
        image = session.get(Image, newest)
        with pytest.raises(crypto.SealBroken, match="'2' is not configured"):
            images.image_key(old, image)


def test_authenticator_secrets_move_to_the_current_key(tmp_path, request):
    old = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(old)
    with unit_of_work(factory) as session:
        user = User(username="ann", role="analyst", password_hash="x")
        session.add(user)
        session.flush()
        session.add(TotpFactor(user_id=user.id, secret=factors.seal(old, user.id, "SECRETA")))
    both = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={"1": KEY_1})
    with factory() as session:  # still opens with the old key listed
        row = session.exec(select(TotpFactor)).one()
        assert factors.unseal_with_id(both, row.user_id, row.secret) == ("SECRETA", "1")
    assert rotation.reseal_secrets(factory, both, TEST_ACTOR) == 1
    assert rotation.reseal_secrets(factory, both, TEST_ACTOR) == 0  # nothing left to do
    only_new = _ring(both, old_master_keys={})
    with factory() as session:
        row = session.exec(select(TotpFactor)).one()
        assert factors.unseal(only_new, row.user_id, row.secret) == "SECRETA"


def test_keys_commands_report_counts_and_rotate(tmp_path, request, monkeypatch):
    old = fresh_settings("sqlite", tmp_path / "data", request, master_key=KEY_1)
    factory = factory_for(old)
    for seed in (1, 2, 3):
        ingest(factory, old, seed)
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("CELLWATCH_MASTER_KEY", KEY_2)
    monkeypatch.setenv("CELLWATCH_MASTER_KEY_ID", "2")
    monkeypatch.setenv("CELLWATCH_OLD_MASTER_KEYS", f'{{"1": "{KEY_1}"}}')
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        before = runner.invoke(cli, ["keys", "status"])
        assert before.exit_code == 0, before.output
        assert "image keys: 1: 3\n" in before.output
        assert "3 still under an older key" in before.output
        done = runner.invoke(cli, ["keys", "rotate", "--batch", "2"])
        assert done.exit_code == 0, done.output
        assert "3 image keys re-wrapped" in done.output
        after = runner.invoke(cli, ["keys", "status"])
        assert "image keys: 2 (current): 3" in after.output
        assert "older keys may be removed" in after.output
        monkeypatch.setenv("CELLWATCH_OLD_MASTER_KEYS", "{}")
        monkeypatch.setenv("CELLWATCH_MASTER_KEY", KEY_1)  # a wrong current key: refused
        monkeypatch.setenv("CELLWATCH_MASTER_KEY_ID", "3")
        get_settings.cache_clear()
        refused = runner.invoke(cli, ["keys", "rotate"])
        assert refused.exit_code == 1
        assert "master key '2' is not configured" in refused.output
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_video_keys_move_to_the_current_key(kind, tmp_path, request):
    old = fresh_settings(kind, tmp_path / "data", request, master_key=KEY_1, master_key_id="1")
    factory = factory_for(old)
    data = clips.small_clip(seconds=1)
    with unit_of_work(factory) as session:
        video, _ = videos.store(session, old, TEST_ACTOR,
                                videos.prepare(old, data=data, filename="a.mp4"))
        video_id = video.id
    both = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={"1": KEY_1})
    assert rotation.rewrap_images(factory, both, TEST_ACTOR, model=Video) == 1
    with factory() as session:
        assert rotation.image_key_counts(session, Video) == {"2": 1}
        video = session.get(Video, video_id)
    new_only = _ring(old, master_key=KEY_2, master_key_id="2", old_master_keys={})
    assert videos.read_original(new_only, video) == data  # the old key is no longer needed
