"""A decision on a cell holds for pairs found after it: the second stage finding another
reference photo of a cell the analyst already decided leaves nothing for a second decision.
On a committed SQLite file, as a match worker sees it."""

import json

from sqlmodel import select

from app import migrations
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM, Actor
from app.auth.models import User
from app.db import make_engine, make_session_factory, unit_of_work
from app.estate.models import Cell, Establishment
from app.evidence.images import ingest_image
from app.evidence.models import ReferencePhoto
from app.matching import service
from app.matching.engine import MatchEngine
from app.matching.models import Match
from app.settings import Settings
from tests.matching import scenes


def test_a_pair_found_after_the_cell_was_decided_follows_that_decision(tmp_path):
    url = f"sqlite:///{tmp_path}/cells.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    index = MatchEngine(db=make_engine(url))
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    rgb = scenes.room(91)
    try:
        with unit_of_work(factory) as s:
            est = Establishment(code="MDI", name="Moorland")
            reviewer = User(username="ana", role="analyst", password_hash="!",
                            must_change_password=False)
            s.add_all([est, reviewer])
            s.flush()
            cell = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1")
            s.add(cell)
            s.flush()
            refs = [ingest_image(s, settings, SYSTEM, data=data, filename="r.jpg")[0]
                    for data in (scenes.jpeg(rgb), scenes.other_viewpoint(rgb))]
            s.add_all([ReferencePhoto(image_id=r.id, cell_id=cell.id) for r in refs])
            actor = Actor(user_id=reviewer.id, name="ana")
            ref_ids = [r.id for r in refs]
        with unit_of_work(factory) as s:  # an upload: the first stage finds the near-duplicate
            query, _ = ingest_image(s, settings, SYSTEM, data=scenes.repost(rgb),
                                    filename="q.jpg")
            [near] = service.first_stage(s, index, SYSTEM, [query.id])
            assert near.candidate_image_id == ref_ids[0]
            query_id, near_id = query.id, near.id
        with unit_of_work(factory) as s:  # the analyst confirms the cell at once
            decided = service.review_cell(s, actor, s.get(Match, near_id), confirm=True)
            assert [m.id for m in decided] == [near_id]  # nothing else found yet
        with unit_of_work(factory) as s:  # then the second stage finds the other viewpoint
            assert service.second_stage(s, index, SYSTEM, query_id) == 1
        with factory() as s:
            later = s.exec(select(Match).where(Match.candidate_image_id == ref_ids[1])).one()
            assert (later.method, later.status) == ("features", "confirmed")
            assert later.reviewed_by == actor.user_id
            assert later.review_note == f"Decided with match {near_id} (same cell)."
            [ranked] = service.ranked_candidates(s, query_id).entries
            assert ranked.status == "confirmed" and len(ranked.pairs) == 2
            event = s.exec(select(AuditEvent).where(
                AuditEvent.action == "match.confirm",
                AuditEvent.object_ids == json.dumps([str(later.id)]))).one()
            assert json.loads(event.details)["with_match"] == near_id
    finally:
        index.close()
        engine.dispose()
