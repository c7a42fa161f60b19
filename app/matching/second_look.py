"""The second stage's second look: SIFT for the few pairs ORB nearly links.

A real second photograph of a scene (taken again from elsewhere, in other light) is where
ORB's stored 500 keypoints agree too little: the stored features are kept as they are (the
index and every held blob stay valid), and only the shortlisted pairs that ORB leaves under
the threshold with a score before the scene check of at least `second_look_from` are looked at
again, at most `second_look_max` of them an upload, by SIFT on both pictures' working images
(app/evidence/sift.py). Linked at the same threshold, on the same scale. Thresholds and
figures: app/matching/thresholds.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import numpy as np
from sqlmodel import Session

from app.errors import NotFound
from app.evidence import sift
from app.evidence.errors import StoredImageDamaged
from app.evidence.hashing import _side, is_stale
from app.evidence.images import read_display
from app.evidence.models import Image
from app.matching import parallel
from app.matching.engine import Hit, Limits
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
# image id -> its working image; None: not readable now (erased meanwhile, damaged)
Pictures = Callable[[int], np.ndarray | None]
Rows = list[tuple[Hit, int, int]]  # hit, score, score before the scene check


def verify_detail(a: bytes, b: bytes, *, mirrored: bool = True) -> tuple[int, int]:
    """(hashing.verify_features(a, b), the better side's score before the scene check)."""
    if is_stale(a) or is_stale(b):
        return 0, 0
    sides = [_side(a, b, m, 0.8, 4.0) for m in ((False, True) if mirrored else (False,))]
    return max(s for s, _ in sides), max(sift.raw_score(found) for _, found in sides)


def first_look(features: bytes, shortlist: list[Hit], blobs: dict[int, bytes]) -> Rows:
    """Every shortlisted candidate's ORB score, and its score before the scene check."""
    return [(hit, *verify_detail(features, blob, mirrored=hit.mirrored)) for hit in shortlist
            if (blob := blobs.get(hit.image_id))]


def offered(rows: Rows, limits: Limits) -> list[Hit]:
    """The pairs that get a second look: under the threshold, nearly linked, nearest first."""
    near = [(raw, hit) for hit, score, raw in rows
            if score < limits.verify_min_score and raw >= limits.second_look_from]
    near.sort(key=lambda r: (-r[0], r[1].image_id))
    return [hit for _, hit in near[:limits.second_look_max]]


def second_look(rows: Rows, limits: Limits, query: Callable[[], np.ndarray | None],
                pictures: Pictures) -> list[tuple[Hit, int]]:
    """Every candidate with its score: ORB's, or SIFT's where it looked again and saw more.
    `query` gives the new image's working image (read only when a pair is looked at)."""
    scores = {hit.image_id: score for hit, score, _ in rows}
    again = offered(rows, limits)
    gray = query() if again else None
    if gray is not None:
        # the new image's keypoints are computed beside the first candidate's
        plain = parallel.start(partial(sift.keypoints, gray))
        mine: dict[bool, sift.Keypoints] = {}
        for hit in again:
            other = pictures(hit.image_id)  # read here: the session stays in this thread
            if other is None:
                continue
            theirs = sift.keypoints(other)
            for mirrored in (False, True) if hit.mirrored else (False,):
                if mirrored not in mine:  # the plain side always comes first
                    mine[mirrored] = sift.mirror(mine[False], gray) if mirrored else \
                        plain.result()
                scores[hit.image_id] = max(scores[hit.image_id],
                                           sift.verify(mine[mirrored], theirs))
    return [(hit, scores[hit.image_id]) for hit, _, _ in rows]


def stored_pictures(session: Session, settings: Settings) -> Pictures:
    """Working images of held images, from their display copies (what the worker can read
    cheaply: a 1600 px JPEG, decoded at a reduced scale)."""

    def picture(image_id: int) -> np.ndarray | None:
        image = session.get(Image, image_id)
        if image is None:
            return None
        try:
            return sift.working_content(read_display(settings, image))
        except (NotFound, StoredImageDamaged):  # erased meanwhile, or damaged (logged)
            log.warning("second look: image %s could not be read; left to ORB", image_id)
            return None

    return picture
