"""Finding, storing and reviewing match candidates. Services never commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import numpy as np
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.evidence.hashing import hamming
from app.evidence.models import Image, ImageFeatures, ReferencePhoto, VideoFrame
from app.evidence.reference import add_reference_from_image
from app.matching import candidates, clip_look
from app.matching.engine import Hit, Limits, MatchEngine
from app.matching.models import Match, MatchRun
from app.matching.second_look import Pictures, first_look, second_look, stored_pictures
from app.settings import Settings

_KINDS = ("phash", "phash_mirror", "phash_trim")


def _method(query: Image, candidate: Image) -> tuple[str, int]:
    """Which hash comparison linked the pair, and its distance (for the analyst)."""
    options = {
        "phash": hamming(query.phash, candidate.phash),
        "phash_mirror": hamming(query.phash, candidate.phash_mirror),
        "phash_trim": hamming(query.phash_trim, candidate.phash_trim),
    }
    method = min(options, key=lambda k: (options[k], _KINDS.index(k)))
    return method, options[method]


def _store(session: Session, query: Image, candidate_id: int, method: str, distance: int,
           inliers: int | None = None) -> Match | None:
    stored = _store_all(session, query, [(candidate_id, method, distance, inliers)])
    return stored[0] if stored else None


def _store_all(session: Session, query: Image,
               pairs: list[tuple[int, str, int, int | None]]) -> list[Match]:
    """Store the query's candidate pairs (candidate id, method, distance, inliers) that are
    news, with one read per rule for them all (not one per candidate: an upload waits)."""
    ids = [candidate_id for candidate_id, *_ in pairs]
    if not ids:
        return []
    qid = query.id or 0
    # one candidate per pair, whichever image came in first
    paired = {other for q, c in session.exec(select(Match.query_image_id,
                                                    Match.candidate_image_id).where(
        ((col(Match.query_image_id) == qid) & col(Match.candidate_image_id).in_(ids))
        | ((col(Match.candidate_image_id) == qid) & col(Match.query_image_id).in_(ids)))).all()
        for other in (q, c) if other != qid}
    # two frames of one video show the same scene: no news to anyone
    clips = select(VideoFrame.video_id).where(VideoFrame.image_id == qid)
    same_clip = set(session.exec(select(VideoFrame.image_id).where(
        col(VideoFrame.image_id).in_(ids), col(VideoFrame.video_id).in_(clips))).all())
    fresh = [p for p in pairs if p[0] not in paired and p[0] not in same_clip]
    if not fresh:
        return []
    # Both images still held, and kept so until this commits (FOR SHARE on PostgreSQL; SQLite
    # has one writer): a withdrawal either waits for this match and then settles it, or
    # commits first and no match to its image is stored.
    held = set(session.exec(select(Image.id).where(
        col(Image.id).in_([qid, *[p[0] for p in fresh]]), col(Image.erased_at).is_(None))
        .with_for_update(read=True)).all())
    if qid not in held:
        return []
    stored = [Match(query_image_id=qid, candidate_image_id=candidate_id, method=method,
                    distance=distance, inliers=inliers)
              for candidate_id, method, distance, inliers in fresh if candidate_id in held]
    session.add_all(stored)
    return stored


def _may_follow(session: Session, image_id: int) -> bool:
    """Whether a new pair of this image can follow an earlier cell decision at all: only
    when the image already has a decided pair or is itself a cell's reference photo (an
    image just taken in has neither, so its first stage skips the per-pair look)."""
    decided = session.exec(select(Match.id).where(
        (col(Match.query_image_id) == image_id) | (col(Match.candidate_image_id) == image_id),
        col(Match.status) != "pending").limit(1)).first()
    return decided is not None or bool(_active_cells(session, image_id))


def first_stage(session: Session, engine: MatchEngine, actor: Actor,
                image_ids: Iterable[int]) -> list[Match]:
    """Near-duplicate candidates for new images, stored for review (in the caller's txn)."""
    found: list[Match] = []
    image_ids = list(image_ids)
    if image_ids:
        engine.refresh(session)  # once for the submission (committed rows only)
    batch = engine.batch_index()  # ...so its own images are compared here
    for image_id in image_ids:
        image = session.get(Image, image_id)
        if image is None or session.get(MatchRun, image_id) is not None:
            continue  # already matched when it first came in
        hits = engine.near_duplicates(session, image, refresh=False, batch=batch)
        engine.hold(batch, image)
        candidates = session.exec(select(Image).where(
            col(Image.id).in_([h.image_id for h in hits]))).all() if hits else []
        new = _store_all(session, image,
                         [(c.id or 0, *_method(image, c), None) for c in candidates])
        session.add(MatchRun(image_id=image_id, candidates=len(new)))
        session.flush()
        if new and _may_follow(session, image_id):
            for match in new:
                follow_cell_decision(session, actor, match)
        record(session, actor, "match.first_stage", object_type="image", object_ids=[image_id],
               details={"candidates": [m.candidate_image_id for m in new]})
        found += new
    return found


def scored(features: bytes, shortlist: list[Hit], blobs: dict[int, bytes], *,
           limits: Limits | None = None, query: Callable[[], np.ndarray | None] | None = None,
           pictures: Pictures | None = None) -> list[tuple[Hit, int]]:
    """Every shortlisted candidate with its geometric verification score (pure: what
    bench/matching_accuracy_real.py measures). Given the `limits`, the new image's `query`
    working image and the candidates' `pictures`, with the second look (SIFT for the pairs
    ORB nearly links, app/matching/second_look.py) as a match worker runs it."""
    rows = first_look(features, shortlist, blobs)
    if limits is None or query is None or pictures is None:
        return [(hit, score) for hit, score, _ in rows]
    return second_look(rows, limits, query, pictures)


def second_stage(session: Session, engine: MatchEngine, actor: Actor, image_id: int, *,
                 settings: Settings | None = None) -> int:
    """Local-feature verification over a short list; stores what passes. Returns how many.
    With `settings` (a match worker's: where the pictures are), the second look too, for a
    photo (a video's frames have the clip pass instead: a look each would cost a clip seconds,
    and the video benchmarks measure frames without it)."""
    run = session.get(MatchRun, image_id)
    image = session.get(Image, image_id)
    features = session.get(ImageFeatures, image_id)
    if run is None or image is None or run.second_stage_at is not None:
        return 0
    stored = 0
    if features is not None:
        already = {i for pair in session.exec(
            select(Match.query_image_id, Match.candidate_image_id).where(
                (col(Match.query_image_id) == image_id)
                | (col(Match.candidate_image_id) == image_id))).all() for i in pair}
        shortlist: list[Hit] = [h for h in engine.shortlist(session, image, features.data)
                                if h.image_id not in already]
        blobs = dict(session.exec(select(ImageFeatures.image_id, ImageFeatures.data).where(
            col(ImageFeatures.image_id).in_([h.image_id for h in shortlist]))).all())
        # Verify every candidate before writing anything: the slow part runs holding no
        # write lock (on SQLite one writer at a time, and a niced worker must not hold it).
        frame = session.exec(select(VideoFrame.id).where(
            col(VideoFrame.image_id) == image_id)).first() is not None
        pictures = None if settings is None or frame else stored_pictures(session, settings)
        query = None if pictures is None else partial(pictures, image_id)
        rows = scored(features.data, shortlist, blobs, limits=engine.limits, query=query,
                      pictures=pictures)
        if frame:  # what nearly linked, for the clip pass (app/matching/clip_look.py)
            engine.keep_near(image, features.data, clip_look.near_ids(rows))
        passed = [(hit, score) for hit, score in rows if score >= engine.limits.verify_min_score]
        for hit, score in passed:
            if match := _store(session, image, hit.image_id, "features", hit.distance, score):
                stored += 1
                session.flush()
                follow_cell_decision(session, actor, match)
    run.second_stage_at = utcnow()
    run.candidates += stored
    session.add(run)
    session.flush()
    record(session, actor, "match.second_stage", object_type="image", object_ids=[image_id],
           details={"candidates": stored})
    return stored


def get_match(session: Session, match_id: int) -> Match:
    match = session.get(Match, match_id)
    if match is None:
        raise NotFound(f"There is no match {match_id}.")
    return match


def review(session: Session, actor: Actor, match: Match, *, confirm: bool, note: str = "",
           expected_status: str = "pending") -> Match:
    """Confirm or reject a candidate; a decision already taken by someone else is a 409."""
    if match.status != expected_status:
        raise Conflict(f"This match was already {match.status} by someone else; reload.")
    if len(note) > 500:
        raise Unprocessable("The note must be at most 500 characters.")
    # Conditional on the status still being the one read: of two reviewers deciding at once,
    # exactly one decides (the match has no version column; its status plays that part).
    decided = session.execute(
        update(Match).where(col(Match.id) == match.id, col(Match.status) == expected_status)
        .values(status="confirmed" if confirm else "rejected", reviewed_by=actor.user_id,
                reviewed_at=utcnow(), review_note=note.strip()))
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(match)
        raise Conflict(f"This match was already {match.status} by someone else; reload.")
    session.refresh(match)
    record(session, actor, "match.confirm" if confirm else "match.reject", object_type="match",
           object_ids=[match.id or 0],
           details={"query_image": match.query_image_id,
                    "candidate_image": match.candidate_image_id, "method": match.method})
    return match


def ranked_candidates(session: Session, image_id: int) -> candidates.Ranked:
    """The image's candidates, one per cell then one per other held image, strongest first
    (see app/matching/candidates.py)."""
    image = session.get(Image, image_id)
    if image is None:
        return candidates.Ranked([], {}, {})
    rows = session.exec(select(Match).where(
        (col(Match.query_image_id) == image_id) | (col(Match.candidate_image_id) == image_id)
    )).all()
    return candidates.ranked(session, image, list(rows))


def _same_cell(session: Session, match: Match, statuses: list[str]) -> list[Match]:
    """Pairs of `match`'s image with the other active reference photos of the cell(s) its
    reference photo shows, in these statuses."""
    found: list[Match] = []
    for image_id, reference_id in ((match.query_image_id, match.candidate_image_id),
                                   (match.candidate_image_id, match.query_image_id)):
        cells = _active_cells(session, reference_id)
        if not cells:
            continue
        photos = set(session.exec(select(ReferencePhoto.image_id).where(
            col(ReferencePhoto.cell_id).in_(cells),
            col(ReferencePhoto.removed_at).is_(None))).all()) - {image_id}
        found += session.exec(select(Match).where(
            col(Match.id) != match.id, col(Match.status).in_(statuses),
            ((col(Match.query_image_id) == image_id)
             & col(Match.candidate_image_id).in_(photos))
            | ((col(Match.candidate_image_id) == image_id)
               & col(Match.query_image_id).in_(photos)))).all()
    return sorted({m.id: m for m in found}.values(), key=lambda m: m.id or 0)


def same_cell_pairs(session: Session, match: Match) -> list[Match]:
    """The other pending pairs that a decision on `match` decides too: its image's pairs with
    the other active reference photos of the cell(s) its reference photo shows."""
    return _same_cell(session, match, ["pending"])


def follow_cell_decision(session: Session, actor: Actor, match: Match) -> bool:
    """A new pair of an image with a reference photo of a cell already decided for that image
    (another photo of the cell came in, or the second stage found one after the analyst's
    decision) takes that decision instead of waiting for a second one: same status and
    reviewer, a note naming the match it follows, and an audit event. Returns whether."""
    decided = _same_cell(session, match, ["confirmed", "rejected"])
    if match.status != "pending" or not decided:
        return False
    latest = max(decided, key=lambda m: (m.reviewed_at or m.created_at, m.id or 0))
    match.status, match.reviewed_by = latest.status, latest.reviewed_by
    match.reviewed_at = utcnow()
    match.review_note = f"Decided with match {latest.id} (same cell)."
    session.add(match)
    session.flush()
    record(session, actor, "match.confirm" if latest.status == "confirmed" else "match.reject",
           object_type="match", object_ids=[match.id or 0],
           details={"with_match": latest.id, "same_cell": True, "follows_earlier": True})
    return True


def review_cell(session: Session, actor: Actor, match: Match, *, confirm: bool,
                note: str = "", expected_status: str = "pending") -> list[Match]:
    """A decision on a cell candidate: `match` (its strongest pair, shown side by side) is
    decided as `review` does, and with it every other pending pair of the same image with a
    reference photo of the same cell, so none is left for a second decision. Those carry a
    note naming the match they were decided with, and one audit event lists them."""
    review(session, actor, match, confirm=confirm, note=note, expected_status=expected_status)
    siblings = same_cell_pairs(session, match)
    decided: list[Match] = []
    words = f"Decided with match {match.id} (same cell)."
    for other in siblings:
        done = session.execute(
            update(Match).where(col(Match.id) == other.id, col(Match.status) == "pending")
            .values(status=match.status, reviewed_by=actor.user_id, reviewed_at=utcnow(),
                    review_note=f"{words} {note.strip()}".strip()[:500]))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(other)
            decided.append(other)
    if decided:
        record(session, actor, "match.confirm" if confirm else "match.reject",
               object_type="match", object_ids=[m.id or 0 for m in decided],
               details={"with_match": match.id, "same_cell": True})
    return [match, *decided]


def run_for(session: Session, image_id: int) -> MatchRun | None:
    return session.get(MatchRun, image_id)


def _active_cells(session: Session, image_id: int) -> set[int]:
    return {r.cell_id for r in session.exec(select(ReferencePhoto).where(
        ReferencePhoto.image_id == image_id, col(ReferencePhoto.removed_at).is_(None))).all()}


def promote(session: Session, settings: Settings, actor: Actor, match: Match) -> ReferencePhoto:
    """Library growth: the evidence side of a confirmed match with one cell's reference photo
    becomes a reference photo of that cell."""
    if match.status != "confirmed":
        raise Unprocessable("Only a confirmed match can add a photo to the cell library.")
    cell_ids = _active_cells(session, match.candidate_image_id)
    evidence_side = match.query_image_id
    if not cell_ids:  # the pair may be the other way round
        cell_ids = _active_cells(session, match.query_image_id)
        evidence_side = match.candidate_image_id
    if len(cell_ids) != 1:
        raise Unprocessable("This match does not point at exactly one cell's reference photo.")
    photo = add_reference_from_image(session, settings, actor, cell_id=cell_ids.pop(),
                                     image_id=evidence_side, source="evidence")
    record(session, actor, "match.promote", object_type="match", object_ids=[match.id or 0],
           details={"reference_photo": photo.id})
    return photo
