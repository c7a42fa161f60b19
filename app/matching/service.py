"""Finding, storing and reviewing match candidates. Services never commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.evidence.hashing import hamming, verify_features
from app.evidence.models import Image, ImageFeatures, ReferencePhoto
from app.evidence.reference import add_reference_from_image
from app.matching.engine import Hit, MatchEngine
from app.matching.models import Match, MatchRun
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
    pair = ((col(Match.query_image_id) == query.id)
            & (col(Match.candidate_image_id) == candidate_id)) | (
        (col(Match.query_image_id) == candidate_id) & (col(Match.candidate_image_id) == query.id))
    if session.exec(select(Match.id).where(pair)).first() is not None:
        return None  # one candidate per pair, whichever image came in first
    # Both images still held, and kept so until this commits (FOR SHARE on PostgreSQL; SQLite
    # has one writer): a withdrawal either waits for this match and then settles it, or
    # commits first and no match to its image is stored.
    held = session.exec(select(Image.id).where(
        col(Image.id).in_([query.id or 0, candidate_id]), col(Image.erased_at).is_(None))
        .with_for_update(read=True)).all()
    if len(set(held)) < 2:
        return None
    match = Match(query_image_id=query.id or 0, candidate_image_id=candidate_id, method=method,
                  distance=distance, inliers=inliers)
    session.add(match)
    return match


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
        new = [m for c in candidates
               if (m := _store(session, image, c.id or 0, *_method(image, c))) is not None]
        session.add(MatchRun(image_id=image_id, candidates=len(new)))
        session.flush()
        record(session, actor, "match.first_stage", object_type="image", object_ids=[image_id],
               details={"candidates": [m.candidate_image_id for m in new]})
        found += new
    return found


def second_stage(session: Session, engine: MatchEngine, actor: Actor, image_id: int) -> int:
    """Local-feature verification over a short list; stores what passes. Returns how many."""
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
        passed = [(hit, score) for hit in shortlist if (blob := blobs.get(hit.image_id))
                  and (score := verify_features(features.data, blob))
                  >= engine.limits.verify_min_score]
        for hit, score in passed:
            if _store(session, image, hit.image_id, "features", hit.distance, score):
                stored += 1
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


def candidates_for(session: Session, image_id: int) -> list[Match]:
    """Every candidate either side of the pair, best first: near-duplicates by distance,
    then feature matches by score."""
    rows = session.exec(select(Match).where(
        (col(Match.query_image_id) == image_id) | (col(Match.candidate_image_id) == image_id)
    )).all()
    return sorted(rows, key=lambda m: (m.method == "features", m.distance, -(m.inliers or 0),
                                       m.id or 0))


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
