"""Evidence API: one image with its posts and cell libraries (taking images in is matching's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.deps import ImageDep
from app.evidence.presenters import image_detail
from app.evidence.schemas import ImageOut

router = APIRouter()


@router.get("/api/v1/images/{image_id}", response_model=ImageOut)
def image_api(who: EvidenceReader, image: ImageDep, db: SessionDep,
              settings: SettingsDep) -> dict[str, Any]:
    context = image_detail(db, image, settings.local_timezone)
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image.id or 0])
    return {**context["image"], "evidence": context["evidence"],
            "references": context["references"], "withdrawal": context["withdrawal"]}
