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
cell library only.

The pass runs in the worker that stored the last frame's second stage, after that commit (so
it sees every frame's). Two frames finishing at once may both run it: a pair stored twice is
refused by the database (uq_match_pair) and that pass is dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import unit_of_work
from app.evidence.hashing import verify_features
from app.evidence.models import Image, ImageFeatures, ReferencePhoto, VideoFrame
from app.matching import service
from app.matching.engine import MatchEngine
from app.matching.models import Match, MatchRun
from app.matching.thresholds import FRAME_SET_MIN_SCORE

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
    """The video's held frames (image ids), or None while any has its second stage to run."""
    ids = list(dict.fromkeys(session.exec(
        select(VideoFrame.image_id).join(Image, col(Image.id) == col(VideoFrame.image_id))
        .where(VideoFrame.video_id == video_id, col(Image.erased_at).is_(None))
        .order_by(col(VideoFrame.t))).all()))
    done = session.exec(select(MatchRun.image_id).where(
        col(MatchRun.image_id).in_(ids), col(MatchRun.second_stage_at).is_not(None))).all()
    return ids if ids and len(set(done)) == len(ids) else None


def clip_pass(session: Session, engine: MatchEngine, actor: Actor, video_id: int) -> int:
    """The clip pass of one video whose frames' own stages have all run (see the module
    docstring); returns how many links it stored."""
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
    shortlists = []
    for image_id in frames:
        image = session.get(Image, image_id)
        assert image is not None  # held: read above
        shortlists.append([h.image_id for h in engine.kept_shortlist(session, image,
                                                                 blobs[image_id])])
    references = set(session.exec(select(ReferencePhoto.image_id).where(
        col(ReferencePhoto.image_id).in_({i for s in shortlists for i in s}),
        col(ReferencePhoto.removed_at).is_(None))).all())
    chosen = candidates([[i for i in s if i in references] for s in shortlists], linked)
    theirs = dict(session.exec(select(ImageFeatures.image_id, ImageFeatures.data).where(
        col(ImageFeatures.image_id).in_(chosen))).all())
    stored: list[int] = []
    for candidate in chosen:
        if candidate not in theirs:
            continue
        scores = [verify_features(blobs[i], theirs[candidate], mirrored=True) for i in frames]
        method = decide(scores, engine.limits.verify_min_score)
        if method is None:
            continue
        best = max(range(len(frames)), key=lambda k: scores[k])
        query = session.get(Image, frames[best])
        assert query is not None
        match = service._store(session, query, candidate, method,  # noqa: SLF001
                               64 - min(scores[best], 64), scores[best])
        if match is not None:
            session.flush()
            service.follow_cell_decision(session, actor, match)
            stored.append(match.id or 0)
    record(session, actor, "match.clip_pass", object_type="video", object_ids=[video_id],
           details={"frames": len(frames), "candidates": chosen, "matches": stored})
    return len(stored)


def after_stage(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                image_id: int) -> int:
    """After a frame's second stage committed: the clip pass of each video it is a frame of
    whose frames are now all done. A failure here never undoes the frame's stage: logged."""
    with factory() as session:
        video_ids = session.exec(select(VideoFrame.video_id).where(
            VideoFrame.image_id == image_id)).all()
    stored = 0
    for video_id in dict.fromkeys(video_ids):
        try:
            with unit_of_work(factory) as session:
                stored += clip_pass(session, engine, actor, video_id)
        except IntegrityError:  # another worker's pass stored the same pair first
            log.info("clip pass of video %s: already done by another worker", video_id)
        except Exception:  # noqa: BLE001 - the frame's stage is committed: nobody to raise to
            log.exception("clip pass of video %s failed", video_id)
    return stored
