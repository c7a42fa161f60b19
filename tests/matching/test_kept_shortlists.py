"""A frame's short list is kept from its second stage for the clip pass, and dropped when the
reference library changes (app/matching/shortlists.py, MatchEngine.kept_shortlist)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app import migrations
from app.audit.service import SYSTEM
from app.db import make_engine, unit_of_work
from app.estate.models import Cell, Establishment
from app.evidence.images import ingest_image
from app.evidence.models import Image, ImageFeatures
from app.evidence.reference import add_reference_photo
from app.matching.engine import UNRANKED, MatchEngine
from app.matching.shortlists import KeptShortlists
from app.settings import Settings
from tests.matching import scenes


@pytest.fixture
def held(tmp_path):
    """A committed SQLite database: one reference photo (room 11), one evidence image (12)."""
    url = f"sqlite:///{tmp_path}/kept.db"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, audit_link_seconds=0)
    db = make_engine(url)
    with unit_of_work(lambda: Session(db, expire_on_commit=False)) as s:
        est = Establishment(code="MDI", name="Moorland")
        s.add(est)
        s.flush()
        cell = Cell(establishment_id=est.id or 0, label="A-1-014", wing="A", landing="1")
        s.add(cell)
        s.flush()
        add_reference_photo(s, settings, SYSTEM, cell_id=cell.id or 0,
                            data=scenes.jpeg(scenes.room(11)), filename="ref.jpg")
        image, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scenes.room(12)),
                                filename="x.jpg")
        ids = (cell.id or 0, image.id or 0)
    yield settings, db, ids
    db.dispose()


class Counting(MatchEngine):
    """The product's engine, counting its searches of the vote index."""

    searches = 0

    def shortlist(self, session, image, features):  # type: ignore[no-untyped-def]
        self.searches += 1
        return super().shortlist(session, image, features)


def _query(db, image_id: int) -> tuple[Image, bytes]:
    with Session(db) as s:
        image, features = s.get(Image, image_id), s.get(ImageFeatures, image_id)
        assert image is not None and features is not None
        return image, features.data


def test_the_clip_pass_gets_the_list_of_the_frames_own_stage_without_searching_again(held):
    _, db, (_, evidence) = held
    engine = Counting(sessions=lambda: Session(db))
    image, features = _query(db, evidence)
    first = engine.shortlist(None, image, features)  # type: ignore[arg-type]
    assert engine.searches == 1 and first
    again = engine.kept_shortlist(None, image, features)  # type: ignore[arg-type]
    assert again == first and engine.searches == 1


def test_an_evidence_image_held_since_keeps_the_list(held):
    settings, db, (_, evidence) = held
    engine = Counting(sessions=lambda: Session(db))
    image, features = _query(db, evidence)
    first = engine.shortlist(None, image, features)  # type: ignore[arg-type]
    with unit_of_work(lambda: Session(db, expire_on_commit=False)) as s:
        ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scenes.room(13)), filename="y.jpg")
    assert engine.kept_shortlist(None, image, features) == first  # type: ignore[arg-type]
    assert engine.searches == 1


def test_a_reference_photo_added_since_drops_the_list_and_the_new_one_is_listed(held):
    settings, db, (cell, evidence) = held
    engine = Counting(sessions=lambda: Session(db))
    image, features = _query(db, evidence)
    first = engine.shortlist(None, image, features)  # type: ignore[arg-type]
    with unit_of_work(lambda: Session(db, expire_on_commit=False)) as s:
        ref = add_reference_photo(s, settings, SYSTEM, cell_id=cell,
                                  data=scenes.jpeg(scenes.room(14)), filename="ref2.jpg")
    assert ref.image_id not in {h.image_id for h in first}
    again = engine.kept_shortlist(None, image, features)  # type: ignore[arg-type]
    assert engine.searches == 2
    assert ref.image_id in {h.image_id for h in again}


def test_an_image_with_no_list_kept_gets_one_computed(held):
    _, db, (_, evidence) = held
    engine = Counting(sessions=lambda: Session(db))
    image, features = _query(db, evidence)
    got = engine.kept_shortlist(None, image, features)  # type: ignore[arg-type]
    assert engine.searches == 1 and got == engine.shortlist(None, image, features)  # type: ignore[arg-type]


def test_kept_lists_are_bounded_least_recently_used_first_out_and_keyed():
    kept = KeptShortlists[int](size=2)
    kept.put(1, "a", [10, 11])
    kept.put(2, "a", [20])
    assert kept.get(1, "a") == [10, 11]  # 1 is now the most recently used
    kept.put(3, "a", [30])
    assert len(kept) == 2
    assert kept.get(2, "a") is None
    assert kept.get(1, "a") == [10, 11] and kept.get(3, "a") == [30]
    assert kept.get(1, "b") is None  # kept under another key: not this list
    with pytest.raises(ValueError):
        KeptShortlists[int](size=0)


def test_a_short_list_says_where_the_votes_ranked_each_photo(held):
    settings, db, (cell, evidence) = held
    with unit_of_work(lambda: Session(db, expire_on_commit=False)) as s:
        same = add_reference_photo(s, settings, SYSTEM, cell_id=cell,
                                   data=scenes.jpeg(scenes.room(12), 80), filename="same.jpg")
    engine = MatchEngine(sessions=lambda: Session(db))
    image, features = _query(db, evidence)
    hits = {h.image_id: h for h in engine.shortlist(None, image, features)}  # type: ignore[arg-type]
    # its own picture (saved again) held as a reference photo: the votes' first; the other after
    assert hits[same.image_id].vote_rank == 0
    assert all(h.vote_rank > 0 for i, h in hits.items() if i != same.image_id)
    assert engine.near_duplicates(None, image)[0].vote_rank == UNRANKED  # type: ignore[arg-type]
