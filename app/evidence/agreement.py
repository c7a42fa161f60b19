"""The keypoint pairs a verification counted, laid out to draw (the comparison page): ORB's
from the stored features (`agreeing_points`), and SIFT's second look (sift.agreement) in the
same shape. Drawn, never scored: the score stays the verification's own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.evidence.hashing import _side, is_stale


@dataclass(frozen=True, slots=True)
class Agreement:
    """What a verification saw: its score, and the keypoint pairs that agree, as fractions
    (0-1) of each analysed picture's width and height; `a`'s points are given on the picture
    itself even when its mirror image agreed (`mirrored`)."""

    score: int
    mirrored: bool
    pairs: list[tuple[tuple[float, float], tuple[float, float]]]


NONE = Agreement(0, False, [])


def as_agreement(score: int, mirrored: bool, pa: np.ndarray, pb: np.ndarray,
                 size_a: tuple[int, int], size_b: tuple[int, int]) -> Agreement:
    """Agreeing points in pixels of each analysed picture (`pa` on the mirror image when
    `mirrored`) as an Agreement."""
    src = pa / np.array(size_a, dtype=np.float32)
    if mirrored:  # the mirror's column x is the picture's column width - 1 - x
        src[:, 0] = (size_a[0] - 1 - pa[:, 0]) / size_a[0]
    dst = pb / np.array(size_b, dtype=np.float32)
    return Agreement(score, mirrored, [((float(s[0]), float(s[1])), (float(d[0]), float(d[1])))
                                       for s, d in zip(src, dst, strict=True)])


def agreeing_points(a: bytes, b: bytes, ratio: float = 0.8, reproj_px: float = 4.0) -> Agreement:
    """`verify_features(a, b)` with the agreeing pairs it counted (to draw, not to score: the
    score stays that one function's). Twice its work at most; for one pair on a page."""
    if is_stale(a) or is_stale(b):
        return NONE
    best = NONE
    for mirrored in (False, True):
        score, found = _side(a, b, mirrored, ratio, reproj_px)
        if found and score > best.score:
            best = as_agreement(score, mirrored, *found)
    return best
