"""Web processes hold the global hashes only; match workers hold the descriptor index too."""

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
from app.main import create_app
from app.matching.engine import MatchEngine
from app.matching.index import DescriptorIndex
from app.settings import Settings
from tests.matching import scenes


@pytest.fixture
def library(tmp_path):
    """A committed SQLite database with one reference photo and one evidence image."""
    url = f"sqlite:///{tmp_path}/roles.db"
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
        ref = add_reference_photo(s, settings, SYSTEM, cell_id=cell.id or 0,
                                  data=scenes.jpeg(scenes.room(11)), filename="ref.jpg")
        image, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scenes.room(12)),
                                filename="x.jpg")
        ids = (ref.image_id, image.id)
    yield settings, db, ids
    db.dispose()


@pytest.mark.parametrize("workers", [1, 3])
def test_a_web_process_with_match_workers_holds_no_descriptor_index(library, workers):
    settings, _, (ref_image, evidence) = library
    app = create_app(settings.model_copy(update={"match_workers": workers}))
    engine: MatchEngine = app.state.match_engine
    try:
        engine.refresh(None)
        assert engine.votes is None
        assert sorted(engine.hashes.ids().tolist()) == sorted([ref_image, evidence])
        assert engine.size() == (2, 0)
    finally:
        engine.close()
        app.state.engine.dispose()


def test_without_match_workers_the_web_process_runs_stage_two_so_holds_descriptors(library):
    settings, _, (ref_image, _) = library
    app = create_app(settings.model_copy(update={"match_workers": 0}))
    engine: MatchEngine = app.state.match_engine
    try:
        engine.refresh(None)
        assert isinstance(engine.votes, DescriptorIndex)
        assert engine.votes.ids().tolist() == [ref_image]
    finally:
        engine.close()
        app.state.engine.dispose()


def test_a_hash_only_engine_refuses_a_second_stage_and_the_worker_engine_runs_it(library):
    _, db, (ref_image, _) = library
    web = MatchEngine(sessions=lambda: Session(db), descriptors=False)
    worker = MatchEngine(sessions=lambda: Session(db))
    with Session(db) as s:
        image = s.get(Image, ref_image)
        assert image is not None
        features = s.get(ImageFeatures, ref_image)
        assert features is not None
        with pytest.raises(RuntimeError, match="no descriptors"):
            web.shortlist(s, image, features.data)
        assert worker.votes is not None and len(worker.votes) == 0
        worker.shortlist(s, image, features.data)  # builds both indexes on first use
        assert worker.size() == (2, 1)
