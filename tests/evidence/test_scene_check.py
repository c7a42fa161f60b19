"""The scene check of the second stage (pure): inliers in one band are evidence of the scene
only when the rest of the two pictures agrees too."""

import cv2
import numpy as np

from app.evidence.scene_check import THUMB, agreement, confirmed

SIZE = (512, 384)


def _picture(seed: int) -> np.ndarray:
    """A THUMB x THUMB thumbnail with structure everywhere (smoothed noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8)).astype(np.float32)
    big = cv2.resize(small, (THUMB, THUMB), interpolation=cv2.INTER_CUBIC)
    return np.clip(big + rng.normal(0, 12, big.shape), 0, 255).astype(np.uint8)


def _points(rows: range, cols: range) -> np.ndarray:
    """Three inliers in each grid cell of `rows` x `cols` (8 x 8 grid over SIZE)."""
    cw, ch = SIZE[0] / 8, SIZE[1] / 8
    return np.array([(c * cw + dx, r * ch + dy) for r in rows for c in cols
                     for dx, dy in ((10, 10), (30, 20), (20, 35))], dtype=np.float32)


def test_inliers_spread_over_the_picture_are_confirmed_without_looking():
    pts = _points(range(8), range(8))
    assert confirmed(_picture(1), _picture(2), pts, pts, SIZE, SIZE)


def test_a_band_is_not_the_scene_when_the_rest_of_the_pictures_differ():
    band = _points(range(5, 7), range(1, 7))  # a caption's two lines
    assert agreement(_picture(1), _picture(2), band, band, SIZE, SIZE) < 0.5
    assert not confirmed(_picture(1), _picture(2), band, band, SIZE, SIZE)


def test_a_band_is_the_scene_when_the_rest_agrees_despite_a_caption_and_a_filter():
    """A skyline in fog agrees only in a band; the copy is darker and carries a caption over
    a quarter of the picture: the rest still agrees."""
    band = _points(range(2, 4), range(0, 8))
    original = _picture(3)
    copy = np.clip(original.astype(np.float32) * 0.8 + 10, 0, 255).astype(np.uint8)
    copy[24:32] = 250  # the caption's band
    assert agreement(copy, original, band, band, SIZE, SIZE) > 0.9
    assert confirmed(copy, original, band, band, SIZE, SIZE)


def test_a_band_that_is_the_whole_overlap_cannot_be_contradicted():
    """Nothing outside the inliers to compare (the rest of a falls outside b): the score
    stands as counted."""
    band = _points(range(3, 5), range(0, 8))
    dst = band * np.array([1.0, 4.0], dtype=np.float32) - np.array([0, 3 * 48 * 4 - 10],
                                                                   dtype=np.float32)
    assert agreement(_picture(1), _picture(2), band, dst, SIZE, SIZE) is None
    assert confirmed(_picture(1), _picture(2), band, dst, SIZE, SIZE)


def test_a_tall_narrow_band_is_left_alone():
    """Captions run across the picture; a tall narrow band is a wall or a door seen from
    another viewpoint, where the rest moves by parallax."""
    column = _points(range(0, 8), range(3, 5))
    assert not confirmed(_picture(1), _picture(2), _points(range(3, 5), range(0, 8)),
                         _points(range(3, 5), range(0, 8)), SIZE, SIZE)
    assert confirmed(_picture(1), _picture(2), column, column, SIZE, SIZE)


def test_one_stray_cell_does_not_turn_a_caption_into_a_spread():
    """Two different photographs under one caption, whose textures also happen to line up in
    one cell far below it (the calibration half's false link with features v4): still a
    band, judged by the rest of the picture, which disagrees."""
    caption = np.concatenate([_points(range(0, 3), range(0, 4)), _points(range(6, 7), range(5, 6))])
    assert not confirmed(_picture(1), _picture(2), caption, caption, SIZE, SIZE)
    two_strays = np.concatenate([caption, _points(range(5, 6), range(1, 2))])
    assert confirmed(_picture(1), _picture(2), two_strays, two_strays, SIZE, SIZE)


def test_a_band_and_a_stray_cell_need_the_rest_to_agree_less_than_a_clean_band():
    """A stormy sky: the scene itself is a band, and a stray cell agrees beside it. The rest
    agrees only loosely (noise), which would not confirm a clean band, but confirms this."""
    original = _picture(3)
    rng = np.random.default_rng(5)
    copy = np.clip(original + rng.normal(0, 38, original.shape), 0, 255).astype(np.uint8)
    band = _points(range(4, 7), range(1, 7))
    with_stray = np.concatenate([band, _points(range(1, 2), range(0, 1))])
    loose = agreement(copy, original, band, band, SIZE, SIZE)
    assert 0.5 < loose < 0.85
    assert not confirmed(copy, original, band, band, SIZE, SIZE)
    assert confirmed(copy, original, with_stray, with_stray, SIZE, SIZE)
