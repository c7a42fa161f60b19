"""The clip pass's wider net and second look (app/matching/clip_look.py): a photo one frame's
own second stage nearly linked (scored near the threshold, or ranked first or second by its
votes) is verified on every frame, and the candidate ORB nearly links is looked at again with
SIFT on its best frames."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.evidence.hashing import compute_features
from app.evidence.sift import working_content
from app.matching import clip_look, frame_sets
from app.matching.engine import Hit
from app.matching.thresholds import (
    CLIP_LOOK_FRAMES,
    CLIP_NEAR_SCORE,
    CLIP_STRONG_RANK,
    SECOND_LOOK_FROM,
    VERIFY_MIN_SCORE,
)
from tests.matching import scenes


def _decide(scores: list[int]) -> str | None:
    return frame_sets.decide(scores, VERIFY_MIN_SCORE)


def test_a_frame_keeps_what_it_scored_near_the_threshold_or_its_votes_put_first():
    rows = [(Hit(4, 10), CLIP_NEAR_SCORE - 1), (Hit(9, 12), CLIP_NEAR_SCORE),
            (Hit(2, 64), CLIP_NEAR_SCORE + 5), (Hit(7, 3, True), CLIP_NEAR_SCORE)]
    assert clip_look.near_ids(rows) == [2, 7, 9]  # equal scores: the lower id first
    # votes: first or second (either orientation) is kept whatever it scored, third is not
    voted = [(Hit(5, 64, vote_rank=CLIP_STRONG_RANK - 1), 0),
             (Hit(6, 64, True, vote_rank=CLIP_STRONG_RANK), 3), (Hit(3, 64, vote_rank=0), 1)]
    assert clip_look.near_ids(rows + voted) == [2, 7, 9, 3, 5]
    assert clip_look.near_ids([]) == []


def test_a_near_photo_names_the_frames_that_scored_it_none_already_chosen_or_linked():
    near = [[5, 7], [7, 9], [3], [7]]
    assert clip_look.strong(near, skip={9}) == {5: [0], 7: [0, 1, 3], 3: [2]}
    assert clip_look.strong(near, skip={5, 7, 9, 3}) == {}


def test_the_near_miss_is_the_best_score_before_the_scene_check_if_it_reaches_the_floor():
    rows = {4: [(0, 3, False), (6, 9, False)], 2: [(5, 11, True)], 8: [(5, 11, False)]}
    assert clip_look.near_miss(rows, look_from=8) == 2  # 11 twice: the lower id
    assert clip_look.near_miss(rows, look_from=12) is None
    assert clip_look.near_miss({}, look_from=0) is None


def test_the_look_takes_the_frames_that_came_closest_earliest_first_among_equals():
    rows = [(0, 2, False), (9, 9, False), (0, 0, False), (7, 9, True), (3, 12, False)]
    assert clip_look.look_frames(rows, 3) == [4, 1, 3]
    assert clip_look.look_frames(rows[:2], 3) == [1, 0]


def _half(data: bytes) -> bytes:
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    return scenes.jpeg(np.asarray(picture.resize((picture.width // 2, picture.height // 2))))


@pytest.fixture(scope="module")
def scene() -> dict:
    """A photo, another photograph of the same scene (ORB nearly links it, SIFT does: see
    test_second_look.py), and an unrelated photo."""
    rgb = scenes.photo_like(5)
    again = scenes.second_photograph(rgb)
    return {"photo": scenes.jpeg(rgb, 90), "again": [again, _half(again)],
            "other": scenes.jpeg(scenes.photo_like(11), 90)}


def test_a_photo_one_frame_scored_near_is_weighed_on_every_frame(scene):
    frames = [compute_features(scene["photo"]), compute_features(scene["other"])]
    theirs = {1: compute_features(scene["photo"]), 2: compute_features(scene["other"])}
    # frame 0 scored 1 near, frame 1 scored 2 near; none was chosen by several frames
    got = clip_look.weigh(frames, [], [[1], [2]], set(), theirs, _decide, SECOND_LOOK_FROM)
    assert set(got) == {1, 2} and len(got[1].scores) == 2
    assert got[1].method == "features" and got[1].scores[0] >= VERIFY_MIN_SCORE
    # already linked: not weighed again
    assert clip_look.weigh(frames, [], [[1], []], {1}, theirs, _decide, SECOND_LOOK_FROM) == {}


def test_a_near_photo_the_frame_does_not_agree_with_is_left_out(scene):
    frames = [compute_features(scene["other"])]
    theirs = {1: compute_features(scene["photo"])}
    assert clip_look.sides(frames[0], theirs[1])[0] < CLIP_NEAR_SCORE
    assert clip_look.weigh(frames, [], [[1]], set(), theirs, _decide, SECOND_LOOK_FROM) == {}


def test_the_second_look_links_what_orb_leaves_under_the_rule_and_only_given_pictures(scene):
    frames = [compute_features(b) for b in scene["again"]]
    theirs = {1: compute_features(scene["photo"])}
    rows = [clip_look.sides(f, theirs[1]) for f in frames]
    assert max(r[1] for r in rows) >= SECOND_LOOK_FROM  # ORB came near...
    orb = clip_look.weigh(frames, [1], [[], []], set(), theirs, _decide, SECOND_LOOK_FROM)
    assert orb[1].method is None and not orb[1].looked  # ...but leaves it under the rule
    read: list[int] = []

    def frame(k: int, _mirrored: bool) -> np.ndarray:
        read.append(k)
        return working_content(scene["again"][k])

    looked = clip_look.weigh(frames, [1], [[], []], set(), theirs, _decide, SECOND_LOOK_FROM,
                             frame, lambda _: working_content(scene["photo"]))
    assert looked[1].looked and looked[1].method is not None
    assert all(a >= b for a, b in zip(looked[1].scores, orb[1].scores, strict=True))
    assert sorted(read) == [0, 1] and len(read) <= CLIP_LOOK_FRAMES
    # a photo that cannot be read keeps ORB's scores
    unread = clip_look.weigh(frames, [1], [[], []], set(), theirs, _decide, SECOND_LOOK_FROM,
                             frame, lambda _: None)
    assert unread[1].scores == orb[1].scores and unread[1].method is None
