"""Withdrawal in the evidence domain, on SQLite and PostgreSQL: the sha256 is unique among
held images only (a partial unique index), so the same bytes after a withdrawal are a new
image; reference photos made from a withdrawn image leave the cell library."""

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.errors import Conflict, Unprocessable
from app.evidence.images import find_by_sha256, ingest_image
from app.evidence.models import Image, ImageFeatures, ReferencePhoto
from app.evidence.reference import add_reference_photo
from app.evidence.withdrawal import withdraw_image
from app.matching.engine import MatchEngine
from tests.conftest import TEST_ACTOR
from tests.evidence import samples

REASON = "Misfiled: not a photo of this estate"


def _copy_of(image: Image) -> Image:
    fields = {k: getattr(image, k) for k in Image.model_fields if k not in ("id", "storage_key")}
    return Image(**{**fields, "storage_key": "0" * 32})


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_sha256_is_unique_among_held_images_only(session, settings):
    data = samples.jpeg(seed=5)
    first, _ = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a.jpg")
    session.commit()
    with pytest.raises(IntegrityError):  # two held images with the same bytes: refused
        session.add(_copy_of(first))
        session.flush()
    session.rollback()

    withdraw_image(session, settings, TEST_ACTOR, image=first, reason=REASON)
    session.commit()
    assert find_by_sha256(session, first.sha256) is None  # dedupe looks at held images only
    again, created = ingest_image(session, settings, TEST_ACTOR, data=data, filename="a.jpg")
    session.commit()
    assert created and again.id != first.id and again.sha256 == first.sha256
    assert find_by_sha256(session, first.sha256).id == again.id
    with pytest.raises(IntegrityError):  # and the new one is unique among held images again
        session.add(_copy_of(again))
        session.flush()
    session.rollback()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_withdrawn_reference_photo_leaves_the_library_and_the_index(session, settings, cell):
    photo = add_reference_photo(session, settings, TEST_ACTOR, cell_id=cell.id,
                                data=samples.jpeg_with_exif(), filename="cell.jpg")
    session.commit()
    index = MatchEngine()
    index.sync(session)
    assert index.size() == (1, 1)
    image = session.get(Image, photo.image_id)
    done = withdraw_image(session, settings, TEST_ACTOR, image=image, reason=REASON)
    session.commit()
    assert done.reference_photos_removed == [photo.id]
    session.refresh(photo)
    assert photo.removed_at is not None and photo.removed_by is None  # TEST_ACTOR: no user
    assert session.get(ImageFeatures, image.id) is None
    index.sync(session)
    assert index.size() == (0, 0)
    assert session.exec(select(ReferencePhoto).where(
        col(ReferencePhoto.removed_at).is_(None))).all() == []


def test_reasons_are_required_and_bounded_and_a_second_withdrawal_is_a_conflict(session,
                                                                                settings):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.png(), filename="a")
    session.commit()
    for bad in (None, "", "   ", "abc", "x" * 501):
        with pytest.raises(Unprocessable):
            withdraw_image(session, settings, TEST_ACTOR, image=image, reason=bad)
    assert image.erased_at is None
    done = withdraw_image(session, settings, TEST_ACTOR, image=image,
                          reason="  spaces   are\nfolded  ")
    assert done.reason == "spaces are folded"
    with pytest.raises(Conflict):
        withdraw_image(session, settings, TEST_ACTOR, image=image, reason=REASON)


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_the_dedupe_lookup_can_use_the_partial_index(session):
    """At millions of images the intake's sha256 lookup must stay an index search."""
    from sqlalchemy import text

    bind = session.get_bind()
    query = select(Image.id).where(Image.sha256 == "ab" * 32, col(Image.erased_at).is_(None))
    sql = str(query.compile(bind, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        plan = " ".join(str(r) for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a small table: ask for the index
        plan = " ".join(str(r) for r in session.execute(text(f"EXPLAIN {sql}")))
    assert "uq_image_sha256_held" in plan, plan
