"""The second stage's second look (app/matching/second_look.py): a real second photograph of a
scene, which ORB's stored features leave under the threshold, is linked by SIFT in a match
worker; only the nearest pairs under the threshold are looked at, and only as many as set."""

from dataclasses import replace

import pytest
from sqlmodel import select

from app import migrations
from app.audit.service import SYSTEM
from app.db import make_engine, make_session_factory, unit_of_work
from app.estate.models import Cell, Establishment
from app.evidence.agreement import agreeing_points
from app.evidence.hashing import compute_features
from app.evidence.images import ingest_image
from app.evidence.models import ImageFeatures, ReferencePhoto
from app.evidence.sift import working_content
from app.matching import service
from app.matching.compare import compare
from app.matching.engine import Hit, Limits, MatchEngine
from app.matching.models import Match
from app.matching.second_look import first_look, offered, second_look
from app.matching.thresholds import VERIFY_MIN_SCORE
from app.settings import Settings
from tests.matching import scenes

LIMITS = Limits()


def _hit(image_id: int) -> Hit:
    return Hit(image_id, 64)


def test_only_the_nearest_pairs_under_the_threshold_are_offered():
    rows = [(_hit(1), 35, 35),  # linked already: nothing to look at
            (_hit(2), 0, 7),  # too far to be worth a look
            (_hit(3), 12, 12), (_hit(4), 0, 17), (_hit(5), 9, 9)]
    assert offered(rows, replace(LIMITS, second_look_max=2)) == [_hit(4), _hit(3)]
    assert offered(rows, replace(LIMITS, second_look_max=0)) == []
    assert offered(rows, replace(LIMITS, second_look_from=13, second_look_max=5)) == [_hit(4)]


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    scene = scenes.photo_like(5)
    return scenes.jpeg(scene, 90), scenes.second_photograph(scene)


def test_a_second_photograph_is_linked_only_by_the_second_look(pair):
    first, again = pair
    rows = first_look(compute_features(again), [_hit(1)], {1: compute_features(first)})
    [(_, orb_score, _)] = rows
    assert orb_score < VERIFY_MIN_SCORE

    def look(limits: Limits) -> int:
        return second_look(rows, limits, lambda: working_content(again),
                           lambda _: working_content(first))[0][1]

    assert look(LIMITS) >= VERIFY_MIN_SCORE
    assert look(replace(LIMITS, second_look_max=0)) == orb_score


def test_a_candidate_that_cannot_be_read_keeps_its_orb_score(pair):
    first, again = pair
    rows = first_look(compute_features(again), [_hit(1)], {1: compute_features(first)})
    assert second_look(rows, LIMITS, lambda: working_content(again),
                       lambda _: None) == [(_hit(1), rows[0][1])]


def test_the_new_image_is_not_read_when_nothing_is_offered(pair):
    first, _ = pair
    rows = first_look(compute_features(first), [_hit(1)], {1: compute_features(first)})
    assert rows[0][1] >= VERIFY_MIN_SCORE

    def unread() -> None:
        raise AssertionError("read without need")

    assert second_look(rows, LIMITS, unread, lambda _: None) == [(_hit(1), rows[0][1])]


def test_a_match_worker_links_the_second_photograph_to_the_cell(tmp_path, pair):
    first, again = pair
    url = f"sqlite:///{tmp_path}/look.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    index = MatchEngine(db=make_engine(url))
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    try:
        with unit_of_work(factory) as s:
            est = Establishment(code="MDI", name="Moorland")
            s.add(est)
            s.flush()
            cell = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1")
            s.add(cell)
            s.flush()
            ref, _ = ingest_image(s, settings, SYSTEM, data=first, filename="r.jpg")
            s.add(ReferencePhoto(image_id=ref.id, cell_id=cell.id))
            ref_id = ref.id
        with unit_of_work(factory) as s:
            query, _ = ingest_image(s, settings, SYSTEM, data=again, filename="q.jpg")
            assert service.first_stage(s, index, SYSTEM, [query.id]) == []
            query_id = query.id
        with factory() as s:  # ORB alone (no pictures to look at): not linked; rolled back
            assert service.second_stage(s, index, SYSTEM, query_id) == 0
            s.rollback()
        with unit_of_work(factory) as s:  # as a match worker runs it
            assert service.second_stage(s, index, SYSTEM, query_id, settings=settings) == 1
        with factory() as s:
            match = s.exec(select(Match).where(Match.query_image_id == query_id)).one()
            assert (match.candidate_image_id, match.method) == (ref_id, "features")
            assert match.inliers is not None and match.inliers >= VERIFY_MIN_SCORE
            # the comparison page draws the second look's points, not ORB's few, and says so
            seen = compare(s, settings, match)
            assert seen.second_look and seen.agreement.score >= VERIFY_MIN_SCORE
            assert seen.drawn >= VERIFY_MIN_SCORE
            query_blob = s.get(ImageFeatures, query_id).data
            ref_blob = s.get(ImageFeatures, ref_id).data
            assert agreeing_points(query_blob, ref_blob).score < VERIFY_MIN_SCORE
    finally:
        index.close()
        engine.dispose()
