"""`DELETE /api/v1/accounts/{id}/evidence`: a supervisor erases an account's evidence early.

The reason travels in a JSON body, `{"reason": "..."}`, kept out of URLs and access logs, as
for withdrawing an image. Answers 200 with the ids and counts of what was erased; 404 for an
unknown account, 409 when nothing is left to erase, 403 without the permission, 422 without a
reason (or one too short or too long).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.accounts.deps import AccountDep
from app.auth.deps import SettingsDep
from app.auth.guards import Eraser
from app.db import SessionDep
from app.evidence.withdrawal import REASON_MAX, REASON_MIN
from app.lifecycle.service import erase_early

router = APIRouter()


class ErasureRequest(BaseModel):
    # counted again once runs of spaces are collapsed (lifecycle/service.erase_early)
    reason: str = Field(min_length=REASON_MIN, max_length=REASON_MAX)


class Erased(BaseModel):
    """What the erasure did: ids and counts (lifecycle/erasure.py `Erasure`)."""

    account_id: int
    images_erased: list[int] = Field(description="their keys destroyed, files deleted")
    images_kept_shared: int = Field(description="still evidence of another account")
    evidence_links_removed: int
    evidence_links_kept: int = Field(description="cited by a takedown: kept as its record")
    reference_photos_removed: list[int]
    matches_removed: int
    matches_kept: int = Field(description="the basis of an attribution or account link")
    match_runs_removed: int
    packs_removed: int = Field(description="takedown evidence packs that held an erased picture")
    videos_erased: list[int] = Field(description="videos no other account holds: key, original, "
                                     "poster and preview gone (their frames: images_erased)")


@router.delete("/api/v1/accounts/{account_id}/evidence", response_model=Erased)
def erase_api(who: Eraser, account: AccountDep, body: ErasureRequest, db: SessionDep,
              settings: SettingsDep) -> dict[str, Any]:
    """Erase the account's evidence now: every image no other account holds loses its key and
    files and leaves every index and the cell library; its candidates and runs go (those an
    attribution or account link rests on stay, shown with an erased image)."""
    done = erase_early(db, settings, who.actor, account=account, reason=body.reason)
    return {"account_id": account.id, "images_erased": done.images_erased,
            "images_kept_shared": done.images_kept_shared,
            "evidence_links_removed": done.evidence_links_removed,
            "evidence_links_kept": done.evidence_links_kept,
            "reference_photos_removed": done.reference_photos_removed,
            "matches_removed": done.matches_removed, "matches_kept": done.matches_kept,
            "match_runs_removed": done.match_runs_removed, "packs_removed": done.packs_removed,
            "videos_erased": done.videos_erased}
