"""The match worker's descriptor index kept on disk: loaded at start instead of rebuilt, but
only when it checks out, and always brought up to date against the database."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from app import migrations
from app.audit.service import SYSTEM
from app.db import make_engine, unit_of_work, utcnow
from app.estate.models import Cell, Establishment
from app.evidence.hashing import PREFILTER_KEYPOINTS, analyse_image, prefilter_descriptors
from app.evidence.models import ReferencePhoto
from app.evidence.reference import add_reference_photo
from app.matching import snapshot
from app.matching.engine import MatchEngine
from app.matching.index import DescriptorIndex
from app.settings import Settings
from tests.matching import scenes


@pytest.fixture
def library(tmp_path):
    url = f"sqlite:///{tmp_path}/kept.db"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, audit_link_seconds=0)
    db = make_engine(url)
    factory = lambda: Session(db, expire_on_commit=False)  # noqa: E731
    with unit_of_work(factory) as s:
        est = Establishment(code="MDI", name="Moorland")
        s.add(est)
        s.flush()
        cell = Cell(establishment_id=est.id or 0, label="A-1-014", wing="A", landing="1")
        s.add(cell)
        s.flush()
        cell_id = cell.id or 0

    def add(seed: int) -> int:
        with unit_of_work(factory) as s:
            photo = add_reference_photo(s, settings, SYSTEM, cell_id=cell_id,
                                        data=scenes.jpeg(scenes.room(seed)), filename="r.jpg")
            return photo.image_id

    images = [add(300 + i) for i in range(6)]
    yield settings, db, factory, images, add
    db.dispose()


def engine_for(settings, db) -> MatchEngine:
    engine = MatchEngine(sessions=lambda: Session(db), keep=settings.data_dir / "index")
    engine.votes = DescriptorIndex(PREFILTER_KEYPOINTS, ann_from=1)  # approximate at once
    return engine


def active_images(factory) -> list[int]:
    with factory() as s:
        return sorted(s.exec(select(ReferencePhoto.image_id).where(
            col(ReferencePhoto.removed_at).is_(None))).all())


def votes_for(engine: MatchEngine, seed: int) -> list[tuple[int, int]]:
    assert engine.votes is not None
    q = prefilter_descriptors(analyse_image(scenes.other_viewpoint(scenes.room(seed))).features)
    return engine.votes.query(q, 3)


def test_the_first_build_is_kept_privately_and_a_restart_loads_it(library):
    settings, db, _, images, _ = library
    first = engine_for(settings, db)
    first.refresh(None)
    assert first.blobs_read == 6
    folder = settings.data_dir / "index"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (snapshot.INDEX_FILE, snapshot.NOTE_FILE):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [snapshot.INDEX_FILE, snapshot.NOTE_FILE]

    again = engine_for(settings, db)
    again.refresh(None)
    assert again.blobs_read == 0  # nothing read but the probes: the file was used
    assert again.votes is not None and sorted(again.votes.ids().tolist()) == images
    assert votes_for(again, 302) == votes_for(first, 302)
    assert votes_for(again, 302)[0][0] == images[2]


def test_a_stale_file_is_brought_up_to_date_against_the_database(library):
    settings, db, factory, images, add = library
    engine_for(settings, db).refresh(None)  # kept with six photos
    newer = add(400)
    with unit_of_work(factory) as s:  # a supervisor removed one since
        s.execute(update(ReferencePhoto).where(col(ReferencePhoto.image_id) == images[0])
                  .values(removed_at=utcnow()))
    again = engine_for(settings, db)
    again.refresh(None)
    assert again.blobs_read == 1  # only the new photo's features were read
    assert again.votes is not None
    assert sorted(again.votes.ids().tolist()) == active_images(factory) == sorted(
        images[1:] + [newer])
    assert votes_for(again, 400)[0][0] == newer
    assert all(i != images[0] for i, _ in votes_for(again, 300))


@pytest.mark.parametrize("damage", ["flip a byte", "cut short", "other probes", "other layout",
                                    "note missing"])
def test_a_damaged_or_foreign_file_is_not_used_and_is_replaced(library, damage, monkeypatch):
    settings, db, factory, images, _ = library
    engine_for(settings, db).refresh(None)
    folder = settings.data_dir / "index"
    index_file, note_file = folder / snapshot.INDEX_FILE, folder / snapshot.NOTE_FILE
    data = bytearray(index_file.read_bytes())
    note = json.loads(note_file.read_text())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0xFF
        index_file.write_bytes(bytes(data))
    elif damage == "cut short":
        index_file.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "other probes":  # the descriptors of a photo are now chosen otherwise
        note["probes"] = {k: "0" * 64 for k in note["probes"]}
        note_file.write_text(json.dumps(note))
    elif damage == "other layout":
        monkeypatch.setattr(MatchEngine, "_LAYOUT",
                            {**MatchEngine._LAYOUT, "keypoints": PREFILTER_KEYPOINTS + 1})
    else:
        note_file.unlink()
    again = engine_for(settings, db)
    again.refresh(None)
    assert again.blobs_read == 6  # rebuilt from the database
    assert again.votes is not None and sorted(again.votes.ids().tolist()) == images
    assert votes_for(again, 303)[0][0] == images[3]
    after = engine_for(settings, db)  # ... and kept again, whole
    after.refresh(None)
    assert after.blobs_read == 0


def test_a_hash_only_engine_keeps_nothing(library):
    settings, db, _, _, _ = library
    web = MatchEngine(sessions=lambda: Session(db), keep=settings.data_dir / "index",
                      descriptors=False)
    web.refresh(None)
    assert not (settings.data_dir / "index").exists()
    assert np.array_equal(np.sort(web.hashes.ids()), np.arange(1, 7))
