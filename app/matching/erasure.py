"""Erased images, as matching sees them: their candidates and runs go.

A match that is the basis of an attribution or an account link (`keep`, named by the layer
above) stays, so that the record resting on it still says which images it linked; it is shown
as an erased image, and a pending one leaves the review queue. Every other match with an erased
image is deleted, and so is each erased image's run. The index drops erased images on its next
refresh. Services never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from app.evidence.erasure import CHUNK
from app.matching.models import Match, MatchRun
from app.matching.withdrawal import WITHDRAWN


@dataclass
class ForgottenMatches:
    matches_removed: int = 0
    matches_kept: int = 0
    runs_removed: int = 0


def matches_of(session: Session, image_ids: Sequence[int]) -> list[int]:
    """The ids of every match with one of these images, on either side."""
    found: set[int] = set()
    ids = sorted(set(image_ids))
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        found.update(i for i in session.exec(select(Match.id).where(or_(
            col(Match.query_image_id).in_(part), col(Match.candidate_image_id).in_(part))))
            if i is not None)
    return sorted(found)


def forget_images(session: Session, *, image_ids: Sequence[int], keep: Collection[int],
                  now: datetime, by: int | None = None) -> ForgottenMatches:
    """Delete the matches (but those in `keep`) and runs of these erased images."""
    done = ForgottenMatches()
    involved = matches_of(session, image_ids)
    gone = [i for i in involved if i not in keep]
    kept = [i for i in involved if i in keep]
    for start in range(0, len(gone), CHUNK):
        done.matches_removed += int(session.execute(delete(Match).where(
            col(Match.id).in_(gone[start:start + CHUNK]))).rowcount or 0)  # type: ignore[attr-defined]
    for start in range(0, len(kept), CHUNK):
        session.execute(update(Match).where(col(Match.id).in_(kept[start:start + CHUNK]),
                                            col(Match.status) == "pending")
                        .values(status=WITHDRAWN, reviewed_by=by, reviewed_at=now,
                                review_note="An image of this match was erased."))
    done.matches_kept = len(kept)
    ids = sorted(set(image_ids))
    for start in range(0, len(ids), CHUNK):
        done.runs_removed += int(session.execute(delete(MatchRun).where(
            col(MatchRun.image_id).in_(ids[start:start + CHUNK]))).rowcount or 0)  # type: ignore[attr-defined]
    session.expire_all()
    return done
