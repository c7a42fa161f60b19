"""What the approver weighs, on the takedown's own page: the chosen images, what each matched
(cells and other accounts' posts), the videos cited (their matched frames are among the
images) and why the account is believed to be the prisoner's.

Reads only; the page that shows it audits the read (takedown.view names the prisoners and
images shown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.accounts import attribution
from app.accounts.models import AttributionStatus
from app.estate.models import Prisoner
from app.evidence.presenters import thumb_size
from app.evidence.videos import clock
from app.matching.models import Match
from app.matching.presenters import describe_pairs
from app.takedowns import cited_videos, packs
from app.takedowns.models import Takedown
from app.web.dates import local_time

SHOWN_STATUSES = ("pending", "confirmed")  # rejected and withdrawn links are no basis
MATCHES_PER_IMAGE = 10


@dataclass
class Basis:
    images: list[dict[str, Any]] = field(default_factory=list)
    attributions: list[dict[str, Any]] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)

    @property
    def video_ids(self) -> list[int]:
        return [row["video_id"] for row in self.videos]

    @property
    def image_ids(self) -> list[int]:
        return [row["image"].id for row in self.images]

    @property
    def prisoner_ids(self) -> list[int]:
        return sorted({row["prisoner"].id for row in self.attributions})


def _matches(session: Session, image_id: int) -> list[Match]:
    return list(session.exec(
        select(Match).where(or_(col(Match.query_image_id) == image_id,
                                col(Match.candidate_image_id) == image_id),
                            col(Match.status).in_(SHOWN_STATUSES))
        .order_by(col(Match.status), col(Match.distance), col(Match.id))
        .limit(MATCHES_PER_IMAGE)).all())


def _prisoner(p: Prisoner) -> dict[str, Any]:
    return {"id": p.id, "prison_number": p.prison_number, "name": f"{p.surname}, {p.forenames}"}


def basis_of(session: Session, takedown: Takedown, tz: str) -> Basis:
    """The chosen images with their matches, and the account's attributions (rejected last)."""
    out = Basis()
    for evidence, image in packs.chosen_of(session, takedown.id or 0):
        matches = [] if image.erased_at else _matches(session, image.id or 0)
        out.images.append({
            "evidence": evidence, "image": image, "thumb": thumb_size(image, 240),
            "posted": local_time(evidence.posted_at, tz),
            "matches": describe_pairs(session, [(m, image.id or 0) for m in matches], tz)})
    chosen = {row["evidence"].id for row in out.images}
    for cited in cited_videos.cited_of(session, takedown.id or 0, takedown.account_id):
        video = cited.video
        out.videos.append({
            "video_id": video.id, "sha256": None if cited.erased else video.sha256,
            "duration": clock(video.duration), "post_url": cited.post_url,
            "posted": local_time(cited.posted_at, tz), "erased": cited.erased,
            "frames": [e for e in cited.frames if e in chosen]})
    order = {AttributionStatus.confirmed.value: 0, AttributionStatus.suggested.value: 1}
    rows = sorted(attribution.for_account(session, takedown.account_id),
                  key=lambda pair: order.get(pair[0].status, 2))
    out.attributions = [{"attribution": a, "prisoner": p, "public": _prisoner(p),
                         "photo_time": local_time(a.photo_time, tz)} for a, p in rows]
    return out


def basis_json(basis: Basis) -> dict[str, Any]:
    """The same for the API."""
    return {
        "images": [{
            "evidence_id": row["evidence"].id, "image_id": row["image"].id,
            "post_url": row["evidence"].post_url or None,
            "withdrawn": row["image"].erased_at is not None,
            "matches": [{"match_id": m["match"].id, "status": m["match"].status,
                         "method": m["method"], "distance": m["match"].distance,
                         "other_image_id": m["other"]["image_id"],
                         "cells": [f"{c['establishment']} {c['label']}" for c in m["cells"]],
                         "posts": [p["post_url"] for p in m["posts"] if p["post_url"]]}
                        for m in row["matches"]]} for row in basis.images],
        "videos": [{"video_id": row["video_id"], "sha256": row["sha256"],
                    "post_url": row["post_url"] or None, "withdrawn": row["erased"],
                    "frame_evidence_ids": row["frames"]} for row in basis.videos],
        "attributions": [{"prisoner": row["public"], "status": row["attribution"].status,
                          "basis_kind": row["attribution"].basis_kind,
                          "basis": row["attribution"].basis,
                          "reason": row["attribution"].reason} for row in basis.attributions],
    }
