"""A match's strength in words an analyst can weigh, with the numbers kept as detail.

Pure. The scale follows the measured thresholds (app/matching/thresholds.py), not taste:
- near-duplicates are linked at a perceptual-hash distance of at most GLOBAL_MAX_DISTANCE
  bits of 64; distinct cells were never closer than 4 bits, so 0 bits is the same picture,
  1-2 a near-identical copy and up to the threshold an edited copy;
- a feature match's score counts agreeing points, at most 3 in each cell of an 8x8 grid
  (on the whole picture or on the part of it the other shows: app/evidence/cell_cap.py;
  192 in all);
  distinct scenes never scored above 15 and the link starts at VERIFY_MIN_SCORE (20);
  true pairs of real photos scored 20-70, so twice the threshold and more is strong, and
  from the threshold to twice it is a possible match to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.matching.thresholds import FRAME_SET_MIN_SCORE, GLOBAL_MAX_DISTANCE, VERIFY_MIN_SCORE

SCORE_MAX = 192  # 3 agreeing points counted in each of 8x8 grid cells
LEVELS = 4  # the meter: 4 = the same picture ... 1 = weak


@dataclass(frozen=True)
class Confidence:
    level: int  # 1-4, for the meter and the queue's order
    words: str  # what the analyst reads first
    detail: str  # the numbers behind the words

    @property
    def meter(self) -> str:
        return f"{self.level} of {LEVELS}"


_COPY = {"phash": "copy", "dhash": "copy", "phash_mirror": "mirror-image copy",
         "phash_trim": "copy inside a screenshot or border"}


def confidence(method: str, distance: int, score: int | None,
               max_distance: int = GLOBAL_MAX_DISTANCE,
               min_score: int = VERIFY_MIN_SCORE) -> Confidence:
    """Words for one match (method, stored distance, verification score)."""
    if method == "frame_set":
        points = score or 0
        detail = (f"best frame's score {points} of {SCORE_MAX}, under the one-picture "
                  f"threshold of {min_score}; at least two frames of the clip scored "
                  f"{FRAME_SET_MIN_SCORE} or more against this photo")
        return Confidence(1, "Possible: several frames of the clip agree a little with this "
                             f"photo (best frame {points} points); check the frames", detail)
    if method == "features":
        points = score or 0
        detail = (f"score {points} of {SCORE_MAX}: agreeing points after geometric "
                  f"verification (linked from {min_score}; unrelated scenes stay under it)")
        if points >= 2 * min_score:
            return Confidence(3, f"Strong: {points} matching points agree (same scene)", detail)
        if points >= min_score:
            return Confidence(2, f"Possible: {points} matching points agree; check the "
                                 "details", detail)
        return Confidence(1, f"Weak: only {points} matching points agree", detail)
    kind = _COPY.get(method, "copy")
    detail = (f"{distance} of 64 bits of the perceptual hash differ (linked up to "
              f"{max_distance}; the closest distinct cells measured were 4 apart)")
    if distance == 0:
        return Confidence(4, f"Same picture: identical {kind}", detail)
    if distance <= 2:
        return Confidence(4, f"Near-identical {kind}", detail)
    if distance <= max_distance:
        return Confidence(3, f"Close {kind}: re-encoded, resized or lightly edited", detail)
    return Confidence(1, f"Weak: a loose {kind}", detail)
