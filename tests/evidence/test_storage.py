"""Encryption at rest, atomic files that follow the transaction, erasure, orphan sweep."""

import os
import time

import pytest

from app.evidence import crypto, storage
from app.evidence.errors import StoredImageDamaged
from app.evidence.images import erase_image, ingest_image, read_display, read_original
from app.evidence.models import ImageFeatures
from app.evidence.sweep import sweep_orphans
from tests.conftest import TEST_ACTOR
from tests.evidence import samples
from tests.evidence.conftest import stored_files

IMAGE_MAGICS = (samples.JPEG_MAGIC, samples.PNG_MAGIC, samples.RIFF_MAGIC)


def test_seal_round_trip_and_tamper_detection():
    key = crypto.new_key()
    blob = crypto.seal(key, b"evidence", storage_key="ab" * 16, kind="original")
    assert blob.startswith(crypto.MAGIC)
    assert crypto.unseal(key, blob, storage_key="ab" * 16, kind="original") == b"evidence"
    flipped = bytearray(blob)
    flipped[-5] ^= 0x01
    with pytest.raises(crypto.SealBroken):
        crypto.unseal(key, bytes(flipped), storage_key="ab" * 16, kind="original")
    with pytest.raises(crypto.SealBroken):  # bound to its name: a swapped file fails
        crypto.unseal(key, blob, storage_key="cd" * 16, kind="original")
    with pytest.raises(crypto.SealBroken):
        crypto.unseal(crypto.new_key(), blob, storage_key="ab" * 16, kind="original")


def test_key_wrap_under_the_master_key(settings):
    key = crypto.new_key()
    wrapped = crypto.wrap_key(settings.master_key_bytes, key)
    assert wrapped != key and crypto.unwrap_key(settings.master_key_bytes, wrapped) == key
    with pytest.raises(crypto.SealBroken):
        crypto.unwrap_key(os.urandom(32), wrapped)
    with pytest.raises(crypto.SealBroken):
        crypto.unwrap_key(settings.master_key_bytes, b"")


@pytest.mark.parametrize("make", [samples.jpeg_with_exif, samples.png, samples.webp])
def test_files_on_disk_are_sealed_and_readable(session, settings, make):
    data = make()
    image, created = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a")
    session.commit()
    assert created
    files = stored_files(settings)
    assert [p.name for p in files] == [image.storage_key, f"{image.storage_key}.display"]
    assert files[0].parent.name == image.storage_key[:2]
    for path in files:
        raw = path.read_bytes()
        assert raw.startswith(crypto.MAGIC) and not raw.startswith(IMAGE_MAGICS)
        assert data[:64] not in raw
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_original(settings, image) == data
    assert read_display(settings, image).startswith(samples.JPEG_MAGIC)
    assert len(image.wrapped_key) == 40


def test_a_flipped_byte_is_detected_and_logged(session, settings, caplog):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg(), filename="a")
    session.commit()
    path = storage.path_for(settings, image.storage_key, "display")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(StoredImageDamaged, match="integrity"):
        read_display(settings, image)
    assert "failed to open" in caplog.text and "authentication failed" in caplog.text
    assert read_original(settings, image)  # the other file is untouched


def test_rollback_deletes_the_files_it_wrote(session, settings):
    ingest_image(session, settings, TEST_ACTOR, data=samples.png(), filename="a")
    assert len(stored_files(settings)) == 2  # written before commit...
    session.rollback()
    assert stored_files(settings) == []  # ...and gone with the transaction
    ingest_image(session, settings, TEST_ACTOR, data=samples.png(), filename="a")
    session.commit()
    assert len(stored_files(settings)) == 2


def test_close_without_commit_deletes_the_files_too(connection, settings):
    from sqlmodel import Session

    with Session(bind=connection, join_transaction_mode="create_savepoint") as other:
        ingest_image(other, settings, TEST_ACTOR, data=samples.webp(), filename="a")
        assert len(stored_files(settings)) == 2
    assert stored_files(settings) == []


def test_erasing_destroys_the_key_then_the_files(session, settings):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg(), filename="a")
    session.commit()
    erase_image(session, settings, TEST_ACTOR, image_id=image.id, reason="retention")
    assert len(stored_files(settings)) == 2  # not before the erase commits
    session.rollback()
    assert len(stored_files(settings)) == 2 and read_original(settings, image)
    erase_image(session, settings, TEST_ACTOR, image_id=image.id, reason="retention")
    session.commit()
    assert stored_files(settings) == []
    assert image.wrapped_key == b"" and image.erased_at is not None
    assert session.get(ImageFeatures, image.id) is None
    with pytest.raises(Exception, match="erased"):
        read_display(settings, image)


def test_sweep_removes_orphans_and_keyless_temp_files_only_when_old(connection, session,
                                                                     settings):
    """Claims decide for files named by their key; a temp file named as older versions named
    them (no key) goes by age, as before."""
    from sqlmodel import Session

    def factory() -> Session:
        return Session(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)

    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg(), filename="a")
    session.commit()
    orphan = storage.path_for(settings, "f" * 32, "original")
    storage.write_atomic(orphan, b"left by a crash")
    old_temp, new_temp = orphan.parent / ".tmp-k2j3h4", orphan.parent / ".tmp-p9q8r7"
    old_temp.write_bytes(b"an older version's temp file")
    new_temp.write_bytes(b"maybe still being written by an older version")
    old = time.time() - 7200
    os.utime(old_temp, (old, old))
    assert sorted(sweep_orphans(factory, settings).removed) == sorted([orphan, old_temp])
    assert new_temp.exists() and read_original(settings, image)
