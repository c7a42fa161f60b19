"""What the clip pass verifies and how (app/matching/frame_sets.py calls `weigh`).

Beyond the reference photos several frames short-listed (`frame_sets.candidates`: the K most
often), a photo one frame's own second stage nearly linked is a candidate too (`near_ids`,
kept by the match worker for the pass): scored CLIP_NEAR_SCORE or more, or put first or
second by the frame's descriptor votes; the pass weighs it when that frame scores it
CLIP_NEAR_SCORE or more in either orientation. A clip whose cell is on screen for a second or
two is short-listed by one or two frames only, behind photos the global hashes short-list in
every frame, and a zoom's frames each agree with the cell's photo a little. And the
candidate ORB nearly links (the highest score before the scene check, at least
`second_look_from`) gets a second look: SIFT on LOOK_FRAMES of its best frames
(app/evidence/sift.py), the better of ORB's and SIFT's score a frame counting for
`frame_sets.decide`. A zoom into a low-texture photo, water or a caption over a slice of it is
where ORB's 500 keypoints agree least.

Measured on bench/video_matching.py (63 clips a half with --quick, 119 by default; their
frames replayed): the votes' rule first took the quick calibration half from 56 to 59 clips
found; the frames' own near scores added to it, figures in bench/README.md. The ranks come
with the frame's short list, so the pass searches the vote index no more. The best wrong
photo's second-best frame (ORB or SIFT) scored 7 on the calibration half with both rules, so
FRAME_SET_MIN_SCORE (12) keeps its margin. Thresholds: app/matching/thresholds.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.evidence import sift
from app.evidence.hashing import _side, is_stale
from app.matching.engine import Hit
from app.matching.thresholds import CLIP_LOOK_FRAMES, CLIP_NEAR_SCORE, CLIP_STRONG_RANK

Side = tuple[int, int, bool]  # score, score before the scene check, mirrored
# (frame index, mirrored) -> the frame's working image; id -> a photo's (None: unreadable)
FramePicture = Callable[[int], np.ndarray | None]
Picture = Callable[[int], np.ndarray | None]


@dataclass(frozen=True)
class Weighed:
    """One candidate of the clip pass: each frame's score, and how it links (None: not)."""

    scores: list[int]
    method: str | None
    looked: bool = False


def near_ids(rows: Sequence[tuple[Hit, int]]) -> list[int]:
    """Pure: the ids a frame's own second stage nearly linked (its rows: each short-listed
    candidate with its score): scored CLIP_NEAR_SCORE or more, or put first or second by its
    descriptor votes (CLIP_STRONG_RANK, either orientation: its own stage verifies a photo
    its straight votes named only straight, and a mirrored clip's frame may agree with it
    only mirrored); highest score first."""
    near = sorted(((score, hit.image_id) for hit, score in rows
                   if score >= CLIP_NEAR_SCORE or hit.vote_rank < CLIP_STRONG_RANK),
                  key=lambda r: (-r[0], r[1]))
    return [i for _, i in near]


def strong(near: Sequence[Sequence[int]], skip: set[int]) -> dict[int, list[int]]:
    """Pure: id -> the frames (indices) that named it (`near`: each frame's near ids), none
    of `skip`."""
    out: dict[int, list[int]] = {}
    for k, ids in enumerate(near):
        for i in ids:
            if i not in skip and k not in out.setdefault(i, []):
                out[i].append(k)
    return out


def sides(frame: bytes, theirs: bytes) -> Side:
    """A frame's ORB score against a photo (hashing.verify_features' figure, both
    orientations), its best score before the scene check, and whether that was the mirror
    image's (ties: not)."""
    if is_stale(frame) or is_stale(theirs):
        return 0, 0, False
    both = [_side(frame, theirs, mirrored, 0.8, 4.0) for mirrored in (False, True)]
    raws = [sift.raw_score(found) for _, found in both]
    return max(score for score, _ in both), max(raws), raws[1] > raws[0]


def near_miss(rows: dict[int, list[Side]], look_from: int) -> int | None:
    """Pure: the candidate with the highest frame score before the scene check, if it
    reaches `look_from` (ties: the lower id)."""
    best = max(rows, key=lambda i: (max((r[1] for r in rows[i]), default=0), -i),
               default=None)
    if best is None or max((r[1] for r in rows[best]), default=0) < look_from:
        return None
    return best


def look_frames(rows: list[Side], n: int = CLIP_LOOK_FRAMES) -> list[int]:
    """Pure: the `n` frames (indices) scoring best before the scene check, earliest first
    among equals."""
    return sorted(range(len(rows)), key=lambda k: (-rows[k][1], k))[:n]


def look(rows: list[Side], frame: Callable[[int, bool], np.ndarray | None],
         photo: np.ndarray | None) -> list[int]:
    """The frames' scores after a second look: SIFT on the best frames (each in the
    orientation ORB found better), the better of the two a frame."""
    scores = [r[0] for r in rows]
    if photo is None:
        return scores
    theirs = sift.keypoints(photo)
    for k in look_frames(rows):
        gray = frame(k, rows[k][2])
        if gray is not None:
            scores[k] = max(scores[k], sift.verify(sift.keypoints(gray, rows[k][2]), theirs))
    return scores


def weigh(frames: Sequence[bytes], chosen: list[int], near: Sequence[Sequence[int]],
          linked: set[int], theirs: dict[int, bytes], decide: Callable[[list[int]], str | None],
          look_from: int, frame: Callable[[int, bool], np.ndarray | None] | None = None,
          photo: Picture | None = None) -> dict[int, Weighed]:
    """The clip pass's verification: `chosen` (several frames short-listed them) and the
    photos a frame's own stage scored near (`near`, checked again here), against
    every frame; then a second look at the one ORB nearly links, given the pictures."""
    done: dict[tuple[int, int], Side] = {}  # (candidate, frame): verified once

    def side(i: int, k: int) -> Side:
        if (i, k) not in done:
            done[i, k] = sides(frames[k], theirs[i])
        return done[i, k]

    more = strong(near, linked | set(chosen))
    for i, ks in more.items():
        if i in theirs and max(side(i, k)[0] for k in ks) >= CLIP_NEAR_SCORE:
            chosen = [*chosen, i]
    rows = {i: [side(i, k) for k in range(len(frames))] for i in chosen if i in theirs}
    out = {i: Weighed([r[0] for r in v], decide([r[0] for r in v])) for i, v in rows.items()}
    left = {i: v for i, v in rows.items() if out[i].method is None}
    again = near_miss(left, look_from) if frame is not None and photo is not None else None
    if again is not None and frame is not None and photo is not None:
        scores = look(rows[again], frame, photo(again))
        out[again] = Weighed(scores, decide(scores), looked=True)
    return out
