"""`DELETE /api/v1/images/{id}`: a supervisor withdraws an evidence image.

The reason travels in a JSON body, `{"reason": "..."}` (a DELETE may carry a body; a reason
can hold personal details, so it is kept out of the URL and of every access log that records
URLs). Answers 200 with what was done; 404 for an unknown image, 409 if it was already
withdrawn, 403 without the permission, 422 without a reason (or one too short or too long).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.auth.deps import SettingsDep
from app.auth.guards import Withdrawer
from app.db import SessionDep
from app.evidence.deps import ImageDep
from app.evidence.withdrawal import REASON_MAX, REASON_MIN
from app.matching.withdrawal import withdraw

router = APIRouter()


class Withdrawal(BaseModel):
    # counted again once runs of spaces are collapsed (evidence/withdrawal.check_reason)
    reason: str = Field(min_length=REASON_MIN, max_length=REASON_MAX)


class Withdrawn(BaseModel):
    """What the withdrawal did (matching/withdrawal.py `withdraw`)."""

    image_id: int
    withdrawn_at: str = Field(description="ISO 8601 UTC")
    withdrawn_by: str
    reason: str
    key_destroyed: bool
    evidence_ids: list[int]
    account_ids: list[int]
    reference_photos_removed: list[int]
    matches_withdrawn: list[int] = Field(description="pending matches taken out of review")
    confirmed_matches_kept: list[int]


@router.delete("/api/v1/images/{image_id}", response_model=Withdrawn)
def withdraw_api(who: Withdrawer, image: ImageDep, body: Withdrawal, db: SessionDep,
                 settings: SettingsDep) -> dict[str, Any]:
    """Destroy the image's key and files, take it out of every index and the cell library,
    take its pending matches out of the review queue; the same bytes sent again are a new
    image. Confirmed matches and the attributions resting on them are kept, shown as resting
    on a withdrawn image."""
    return withdraw(db, settings, who.actor, image=image, reason=body.reason)
