"""Intake services: one image per bytes, all-or-nothing batches, what the index sees, audit."""

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.evidence.errors import UploadRefused
from app.evidence.images import erase_image, ingest_image
from app.evidence.intake import SubmittedFile, add_evidence_images, submit_evidence
from app.evidence.models import EvidenceImage, ImageFeatures
from app.evidence.reference import add_reference_photo, remove_reference_photo
from app.matching.engine import MatchEngine
from tests.conftest import TEST_ACTOR
from tests.evidence import samples
from tests.evidence.conftest import assert_nothing_stored, image_count, stored_files


def index_of(session) -> MatchEngine:
    """A process's match index, as it stands after taking in what the session holds."""
    engine = MatchEngine()
    engine.sync(session)
    return engine


def seen(engine: MatchEngine, session) -> tuple[int, int]:
    """(images, reference photos) the index holds after its next incremental look."""
    engine.sync(session)
    return engine.size()


def actions(session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def test_same_bytes_are_one_image(session, settings):
    data = samples.jpeg_with_exif()
    first, created = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a.jpg")
    again, created_again = ingest_image(session, settings, TEST_ACTOR, data=data,
                                        filename="renamed.jpg")
    assert created and not created_again and again.id == first.id
    assert image_count(session) == 1 and len(stored_files(settings)) == 2


def test_ingest_stores_hashes_features_and_exif(session, settings):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg_with_exif(),
                            filename="a.jpg")
    assert image.format == "jpeg" and (image.width, image.height) == (2400, 1800)
    assert all(isinstance(h, int) for h in (image.phash, image.phash_mirror, image.phash_trim,
                                             image.dhash))
    assert image.exif_taken_at == datetime(2025, 6, 1, 20, 15, 30, tzinfo=UTC)
    assert image.exif_device == "Apple iPhone 12" and image.exif_gps_lat == pytest.approx(53.4084)
    assert len(image.sha256) == 64
    assert session.get(ImageFeatures, image.id).data


def test_batch_links_each_file_and_the_index_takes_in_its_images(session, settings):
    index = index_of(session)
    before = index.size()
    posted = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    files = [SubmittedFile("a.jpg", samples.jpeg(), "https://instagram.com/p/abc", posted),
             SubmittedFile("b.png", samples.png(), "https://instagram.com/p/abc", posted),
             SubmittedFile("dup.jpg", samples.jpeg(), "https://tiktok.com/@x/video/1")]
    results = submit_evidence(session, settings, TEST_ACTOR, files)
    assert [r.created for r in results] == [True, True, False]
    assert results[2].image.id == results[0].image.id and results[2].new_link
    assert seen(index, session) == (before[0] + 2, before[1])  # two images, no cell photo
    assert session.exec(select(EvidenceImage)).all().__len__() == 3
    assert actions(session)[-3:] == ["evidence.image.stored", "evidence.image.stored",
                                     "evidence.images.submitted"]


def test_the_same_post_twice_is_one_evidence_row(session, settings):
    file = SubmittedFile("a.jpg", samples.jpeg(), "https://x.com/a/status/1")
    first = add_evidence_images(session, settings, TEST_ACTOR, [file])
    again = submit_evidence(session, settings, TEST_ACTOR, [file])
    assert again[0].evidence.id == first[0].id and not again[0].new_link


def test_a_bad_file_refuses_the_whole_batch_naming_every_bad_one(session, settings):
    files = [SubmittedFile("good.jpg", samples.jpeg()),
             SubmittedFile("cut.jpg", samples.truncated_jpeg()),
             SubmittedFile("notes.jpg", samples.text_as_jpg()),
             SubmittedFile("good.png", samples.png(), post_url="javascript:alert(1)")]
    with pytest.raises(UploadRefused) as caught:
        submit_evidence(session, settings, TEST_ACTOR, files)
    refused = caught.value
    assert [p.filename for p in refused.problems] == ["cut.jpg", "notes.jpg", "good.png"]
    assert refused.status_code == 422  # mixed kinds
    assert "3 of 4 files were refused and nothing was stored" in refused.message
    assert_nothing_stored(session, settings)


def test_one_kind_of_refusal_keeps_its_status(session, settings):
    with pytest.raises(UploadRefused) as caught:
        submit_evidence(session, settings, TEST_ACTOR, [SubmittedFile("x.gif", samples.gif())])
    assert caught.value.status_code == 415 and caught.value.message.startswith("The file was")


def test_erased_bytes_sent_again_are_a_new_image(session, settings):
    data = samples.png()
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a.png")
    session.commit()
    index = index_of(session)
    erase_image(session, settings, TEST_ACTOR, image_id=image.id, reason="test")
    session.commit()
    before = seen(index, session)  # the erased image left the index
    again, created = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a.png")
    session.commit()
    session.refresh(image)
    assert created and again.id != image.id and again.erased_at is None
    assert image.erased_at is not None and image.wrapped_key == b""  # the old row stays erased
    assert image.sha256 == "" and again.storage_key != image.storage_key  # no digest kept
    assert again.wrapped_key and len(stored_files(settings)) == 2
    assert seen(index, session) == (before[0] + 1, before[1])  # the new image is matched
    assert actions(session)[-1] == "evidence.image.stored"


def test_reference_photos_enter_and_leave_the_index(session, settings, cell):
    index = index_of(session)
    before = index.size()
    photo = add_reference_photo(session, settings, TEST_ACTOR, cell_id=cell.id,
                                data=samples.jpeg_with_exif(), filename="cell.jpg")
    assert photo.source == "staff" and photo.taken_on.year == 2025  # from EXIF
    same = add_reference_photo(session, settings, TEST_ACTOR, cell_id=cell.id,
                               data=samples.jpeg_with_exif(), filename="again.jpg")
    assert same.id == photo.id
    assert seen(index, session) == (before[0] + 1, before[1] + 1)
    remove_reference_photo(session, settings, TEST_ACTOR, photo_id=photo.id, reason="wrong")
    assert seen(index, session) == (before[0] + 1, before[1])  # the image stays, the photo goes
    assert actions(session)[-2:] == ["library.photo.added", "library.photo.removed"]
