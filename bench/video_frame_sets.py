"""The clip pass (app/matching/frame_sets.py) replayed on a clip's frames, for
bench/video_matching.py: the product's own choice of candidates (`frame_sets.candidates`) and
rule (`frame_sets.decide`), the scores by `verify_features` in both orientations as the pass
computes them.

Applied as the product applies it: to reference photos. Measured only (never a link): the
same pass over held frames, so that the negative pairs of the clips of held clips (B against
every other source's A) say how close a wrong clip comes to the rule.
"""

from __future__ import annotations

from app.evidence.hashing import verify_features
from app.matching import frame_sets


def scores(frames: list, blobs: dict[int, bytes], shortlists: list[list[int]],
           linked: set[int]) -> dict[int, list[int]]:
    """The clip pass's candidates -> each frame's score, highest first."""
    chosen = frame_sets.candidates(shortlists, linked)
    return {i: sorted((verify_features(f.features, blobs[i], mirrored=True) for f in frames),
                      reverse=True) for i in chosen if i in blobs}


def links(found: dict[int, list[int]], min_score: int) -> dict[int, str]:
    """candidate -> the method the pass links it by (only those it links)."""
    return {i: m for i, s in found.items() if (m := frame_sets.decide(s, min_score))}


def second(ranked: list[int]) -> int:
    """A candidate's frame-set score: its second-best frame's."""
    return ranked[1] if len(ranked) > 1 else 0
