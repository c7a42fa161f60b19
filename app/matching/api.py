"""An image's candidates through the API (polled for the second stage). Images come in
through the one intake path (accounts/api_intake.py), whose answers list candidates as here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.deps import ImageDep
from app.matching.presenters import candidates_json
from app.matching.schemas import Candidates

router = APIRouter()


@router.get("/api/v1/images/{image_id}/candidates", response_model=Candidates)
def candidates_api(who: EvidenceReader, image: ImageDep, db: SessionDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """Audited like the image page: the candidates show other images and their posts."""
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image.id or 0])
    return candidates_json(db, image.id or 0, settings.local_timezone)
