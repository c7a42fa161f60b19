"""The verification score counts inliers per grid cell over the part of each picture the other
shows: a portrait frame or a zoom showing a third of a landscape cell photo can agree in as
many cells as the whole photo, while a small patch two different pictures share stays a few
cells of evidence."""

import cv2
import numpy as np

from app.evidence import cell_cap
from app.evidence.hashing import _side, compute_features, frame_features, verify_features
from app.matching.thresholds import VERIFY_MIN_SCORE
from tests.evidence.test_hashing import jpeg, scene

FRAME, PHOTO = (225, 400), (512, 384)  # a portrait frame's and a landscape photo's features


def _spread(n: int, size: tuple[int, int], seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, 2)) * np.array(size)).astype(np.float32)


def _whole(pa: np.ndarray, pb: np.ndarray, size_a, size_b) -> int:
    """The count on each whole picture (the rule before)."""
    return min(cell_cap.capped(pa, size_a), cell_cap.capped(pb, size_b))


def test_a_frame_showing_a_strip_of_a_photo_counts_as_much_of_the_picture_as_it_shows():
    frame = _spread(400, FRAME)
    # the frame is the photo's middle strip, 216 px of its 512 (its full height)
    strip = frame * (384 / 400) + np.float32([148, 0])
    whole = _whole(frame, strip, FRAME, PHOTO)
    shared = cell_cap.score(frame, strip, FRAME, PHOTO)
    assert whole <= 3 * 4 * 8  # four of the photo's eight columns at most
    assert shared > whole * 1.5
    # as much as the frame itself agrees in, at most
    assert shared <= cell_cap.capped(frame, FRAME)


def test_a_close_up_of_a_small_object_in_another_picture_stays_a_few_cells():
    # a close-up of a poster that fills a seventh of the other picture each way, with 400
    # agreeing points: the close-up agrees everywhere, the other picture only on the poster
    close_up = _spread(400, PHOTO)
    poster = close_up * 0.15 + np.float32([200, 150])
    assert cell_cap.capped(close_up, PHOTO) >= 3 * 60
    # an object, not the scene: counted on the whole picture, as four of its cells
    assert cell_cap.shared_box(poster, close_up, PHOTO, PHOTO) == (0.0, 0.0, 512.0, 384.0)
    assert cell_cap.score(close_up, poster, PHOTO, PHOTO) == 3 * 4 < VERIFY_MIN_SCORE


def test_a_part_under_half_the_picture_each_way_is_widened_to_half():
    close_up = _spread(400, PHOTO)
    part = close_up * 0.3 + np.float32([200, 150])  # 154 x 115 px: 9% of the picture
    x, y, w, h = cell_cap.shared_box(part, close_up, PHOTO, PHOTO)
    assert (w, h) == (256.0, 192.0)
    assert x <= 200 and y <= 150 and x + w >= 200 + 154 and y + h >= 150 + 115


def test_no_fit_or_a_folded_one_counts_on_the_whole_picture():
    points = _spread(50, PHOTO)
    whole = (0.0, 0.0, 512.0, 384.0)
    assert cell_cap.shared_box(points[:3], points[:3], PHOTO, PHOTO) == whole  # too few
    line = np.float32([[x, 2 * x] for x in range(0, 100, 5)])  # no picture fits a line
    assert cell_cap.shared_box(line, line, PHOTO, PHOTO) == whole
    assert cell_cap.score(line, line, PHOTO, PHOTO) == _whole(line, line, PHOTO, PHOTO)


def test_the_same_picture_counts_the_same_as_before():
    points = _spread(500, PHOTO)
    assert cell_cap.score(points, points, PHOTO, PHOTO) == _whole(points, points, PHOTO, PHOTO)


def test_a_crop_counts_no_less_than_on_the_whole_pictures():
    # a tenth cut off the right and bottom: the photo's part the crop shows gets a grid of
    # its own, which lies differently over the same points and alone counted fewer of them
    photo = scene(3)  # 800 x 600
    stored = compute_features(jpeg(photo))
    crop = compute_features(jpeg(photo[60:, 80:]))
    score, (pa, pb, size_a, size_b) = _side(crop, stored, False, 0.8, 4.0)
    x, y, w, h = cell_cap.shared_box(pb, pa, size_b, size_a)
    assert (w, h) < (512, 384)  # the part is smaller than the photo
    assert cell_cap.capped(pb - np.float32([x, y]), (w, h)) < cell_cap.capped(pb, size_b)
    assert score == cell_cap.score(pa, pb, size_a, size_b) >= _whole(pa, pb, size_a, size_b)


def test_a_zoomed_portrait_frame_of_a_landscape_photo_is_linked():
    photo = scene(0)  # 800 x 600
    stored = compute_features(jpeg(photo))
    # a 9:16 frame filling the photo's height, zoomed 1.35x about its centre (a story's zoom)
    h = 600 / 1.35
    w = h * 9 / 16
    crop = photo[int(300 - h / 2):int(300 + h / 2), int(400 - w / 2):int(400 + w / 2)]
    frame = frame_features(jpeg(cv2.resize(crop, (720, 1280), interpolation=cv2.INTER_CUBIC)))
    score, (pa, pb, size_a, size_b) = _side(frame, stored, False, 0.8, 4.0)
    assert score == verify_features(frame, stored) >= VERIFY_MIN_SCORE
    # counted on the whole photo, the frame's quarter of it fell short
    assert _whole(pa, pb, size_a, size_b) < VERIFY_MIN_SCORE
