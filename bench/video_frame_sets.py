"""The clip pass (app/matching/frame_sets.py) replayed on a clip's frames, for
bench/video_matching.py: the product's own choice of candidates (`frame_sets.candidates`, and
what a frame's own second stage nearly linked, app/matching/clip_look.py), its verification on
every frame in both orientations, its second look (SIFT on the best frames of the candidate
ORB nearly links, from the frames' and the photo's display copies) and its rule
(`frame_sets.decide`), all by `clip_look.weigh` as the pass calls it.

Applied as the product applies it: to reference photos. Measured only (never a link): the
same pass over held frames, ORB alone (held frames are not in the vote index, so only the
candidates several frames short-listed), so that the negative pairs of the clips of held
clips (B against every other source's A) say how close a wrong clip comes to the rule.
"""

from __future__ import annotations

from collections.abc import Callable

from app.matching import clip_look, frame_sets


def weighed(frames: list, blobs: dict[int, bytes], shortlists: list[list[int]],
            linked: set[int], min_score: int, look_from: int, near: list[list[int]] | None = None,
            frame: Callable | None = None, photo: Callable | None = None
            ) -> dict[int, clip_look.Weighed]:
    """The clip pass's candidates -> each frame's score and how it links."""
    chosen = frame_sets.candidates(shortlists, linked)
    near = near or [[] for _ in frames]
    wanted = set(chosen) | {i for v in near for i in v}
    return clip_look.weigh([f.features for f in frames], chosen, near, linked,
                           {i: blobs[i] for i in wanted if i in blobs},
                           lambda s: frame_sets.decide(s, min_score), look_from, frame, photo)


def scores(found: dict[int, clip_look.Weighed]) -> dict[int, list[int]]:
    """candidate -> its frames' scores, highest first."""
    return {i: sorted(w.scores, reverse=True) for i, w in found.items()}


def links(found: dict[int, clip_look.Weighed]) -> dict[int, str]:
    """candidate -> the method the pass links it by (only those it links)."""
    return {i: w.method for i, w in found.items() if w.method}


def second(ranked: list[int]) -> int:
    """A candidate's frame-set score: its second-best frame's."""
    return ranked[1] if len(ranked) > 1 else 0
