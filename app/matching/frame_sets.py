"""A clip's frames as one body of evidence: the clip pass, run once every frame of a video has
had its own second stage.

A clip is many views of one scene. Each frame is matched as a photo is (its own short list,
the photo threshold); a frame is often a small, magnified or captioned part of the cell, and
then no single frame reaches the threshold although several come close. The clip pass takes
the reference photos that at least MIN_FRAMES frames short-listed (the K most often, none
already linked to a frame of the clip), verifies each against every frame of the clip (both
orientations: a mirrored clip's frames are mirrored crops), and links it

* as `features`, when a frame reaches the photo threshold (the frame's own short list had
  missed it), or
* as `frame_set`, when at least two frames each score FRAME_SET_MIN_SCORE or more: the best
  frame is paired with the photo, its score kept; an analyst confirms it like any candidate.

FRAME_SET_MIN_SCORE (app/matching/thresholds.py) is measured: on the calibration half of
bench/video_matching.py no wrong reference photo had a second frame above 6; the rule added 4
clips there (84.1% -> 90.5% found, in a replay of the clips' frames). Held images other than
reference photos are left to the frames' own second stages: the rule was measured against the
cell library only. What else is verified, and the second look a match worker adds (SIFT on
the best frames of the candidate ORB nearly links): app/matching/clip_look.py.

The pass is a queued job (app/matching/queue.py CLIPS, the `clip_pass` row made with the
frames): a match worker (or, without workers, the web process after its answer) claims it once
none of the clip's held frames has a second stage still to run, and it verifies the frames whose
stages are done (a frame failed for good does not hold it up). The claim is its fencing token,
so it is stored once; it is retried a bounded number of times, then failed with its reason
(app/matching/jobs.py `run_clip_pass`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.evidence.models import Image, ImageFeatures, ReferencePhoto, VideoFrame
from app.matching import clip_look, service
from app.matching.engine import Hit, MatchEngine
from app.matching.models import Match, MatchRun
from app.matching.second_look import stored_pictures
from app.matching.thresholds import FRAME_SET_MIN_SCORE
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
K = 4  # candidates per clip (calibration: 2 found 2 of the 4 clips, 4 and 8 all 4)
MIN_FRAMES = 2
METHOD = "frame_set"


def candidates(shortlists: Sequence[Sequence[int]], linked: set[int],
               k: int = K) -> list[int]:
    """Pure: the ids at least MIN_FRAMES frames short-listed, most often first (then by id),
    at most `k`, none of `linked`."""
    count = Counter(i for s in shortlists for i in set(s) if i not in linked)
    return sorted((i for i, n in count.items() if n >= MIN_FRAMES),
                  key=lambda i: (-count[i], i))[:k]


def decide(scores: Sequence[int], min_score: int) -> str | None:
    """Pure: how a candidate's frame scores (one per frame) link it: "features" (a frame at
    the photo threshold `min_score`), METHOD (two frames at FRAME_SET_MIN_SCORE), or None."""
    ranked = sorted(scores, reverse=True)
    if ranked and ranked[0] >= min_score:
        return "features"
    if len(ranked) >= 2 and ranked[1] >= FRAME_SET_MIN_SCORE:
        return METHOD
    return None


def _frames(session: Session, video_id: int) -> list[int] | None:
    """The video's held frames whose own second stage is done (image ids, in clip order), or
    None when there is none. The queue claims the pass only once no frame's stage is left to
    run, so a frame missing here failed for good (or was erased)."""
    done = select(MatchRun.image_id).where(col(MatchRun.second_stage_at).is_not(None))
    ids = list(dict.fromkeys(session.exec(
        select(VideoFrame.image_id).join(Image, col(Image.id) == col(VideoFrame.image_id))
        .where(VideoFrame.video_id == video_id, col(Image.erased_at).is_(None),
               col(VideoFrame.image_id).in_(done))
        .order_by(col(VideoFrame.t))).all()))
    return ids or None


def clip_pass(session: Session, engine: MatchEngine, actor: Actor, video_id: int, *,
              settings: Settings | None = None) -> int:
    """The clip pass of one video, claimed from the queue (see the module docstring); returns
    how many links it stored. With `settings` (a match worker's: where the pictures are), the
    second look too."""
    frame_ids = _frames(session, video_id)
    if frame_ids is None:
        return 0
    blobs = dict(session.exec(select(ImageFeatures.image_id, ImageFeatures.data).where(
        col(ImageFeatures.image_id).in_(frame_ids))).all())
    frames = [i for i in frame_ids if i in blobs]
    linked = {i for pair in session.exec(
        select(Match.query_image_id, Match.candidate_image_id).where(
            col(Match.query_image_id).in_(frames) | col(Match.candidate_image_id).in_(frames))
    ).all() for i in pair}
    shortlists, near = _shortlists(session, engine, frames, blobs)
    references = set(session.exec(select(ReferencePhoto.image_id).where(
        col(ReferencePhoto.image_id).in_({i for s in shortlists + near for i in s}),
        col(ReferencePhoto.removed_at).is_(None))).all())
    chosen = candidates([[i for i in s if i in references] for s in shortlists], linked)
    weighed = _weigh(session, engine, settings, frames, blobs, chosen,
                     [[i for i in s if i in references] for s in near], linked)
    stored: list[int] = []
    for candidate, w in weighed.items():
        if w.method is None:
            continue
        best = max(range(len(frames)), key=lambda k: w.scores[k])
        query = session.get(Image, frames[best])
        assert query is not None
        match = service._store(session, query, candidate, w.method,  # noqa: SLF001
                               64 - min(w.scores[best], 64), w.scores[best])
        if match is not None:
            session.flush()
            service.follow_cell_decision(session, actor, match)
            stored.append(match.id or 0)
    record(session, actor, "match.clip_pass", object_type="video", object_ids=[video_id],
           details={"frames": len(frames), "candidates": list(weighed), "matches": stored,
                    "looked": [i for i, w in weighed.items() if w.looked]})
    return len(stored)


def _shortlists(session: Session, engine: MatchEngine, frames: list[int],
                blobs: dict[int, bytes]) -> tuple[list[list[int]], list[list[int]]]:
    """Each frame's short list and what its own second stage nearly linked, as kept by this
    process (MatchEngine.kept_shortlist, kept_near); frames whose stage ran elsewhere (or
    before the library changed) have the reference photos of their short lists verified
    again here (the pass weighs no other image), their blobs read once for all of them."""
    lists: list[list[Hit]] = []
    near: list[list[int] | None] = []
    held = {i.id: i for i in session.exec(select(Image).where(col(Image.id).in_(frames)))}
    for image_id in frames:
        image = held.get(image_id)
        assert image is not None  # held: the caller chose them among the held frames
        lists.append(engine.kept_shortlist(session, image, blobs[image_id]))
        near.append(engine.kept_near(session, image, blobs[image_id], refresh=False))
    missing = [k for k, kept in enumerate(near) if kept is None]
    if missing:
        theirs = dict(session.exec(
            select(ImageFeatures.image_id, ImageFeatures.data)
            .join(ReferencePhoto, col(ReferencePhoto.image_id) == col(ImageFeatures.image_id))
            .where(col(ImageFeatures.image_id).in_({h.image_id for k in missing
                                                    for h in lists[k]}),
                   col(ReferencePhoto.removed_at).is_(None))).all())
        for k in missing:
            near[k] = clip_look.near_ids(service.scored(blobs[frames[k]], lists[k], theirs))
    return [[h.image_id for h in hits] for hits in lists], [n or [] for n in near]


def _weigh(session: Session, engine: MatchEngine, settings: Settings | None,
           frames: list[int], blobs: dict[int, bytes], chosen: list[int],
           near: list[list[int]], linked: set[int]) -> dict[int, clip_look.Weighed]:
    """The candidates verified (app/matching/clip_look.py); with `settings` (where the
    pictures are) the second look too, reading each frame's and the photo's display copy."""
    wanted = set(chosen) | {i for s in near for i in s}
    theirs = dict(session.exec(select(ImageFeatures.image_id, ImageFeatures.data).where(
        col(ImageFeatures.image_id).in_(wanted))).all())
    pictures = None if settings is None else stored_pictures(session, settings)
    seen: dict[int, np.ndarray | None] = {}

    def frame(k: int, _mirrored: bool) -> np.ndarray | None:
        if frames[k] not in seen and pictures is not None:
            seen[frames[k]] = pictures(frames[k])
        return seen.get(frames[k])

    return clip_look.weigh([blobs[i] for i in frames], chosen, near, linked, theirs,
                           lambda scores: decide(scores, engine.limits.verify_min_score),
                           engine.limits.second_look_from,
                           frame if pictures else None, pictures)
