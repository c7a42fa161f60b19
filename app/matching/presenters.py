"""How match candidates are described: the other image, and what it is (a cell, a post)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.estate.models import Cell, Establishment
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.evidence.presenters import image_facts, thumb_size
from app.matching import queue, service
from app.matching.models import Match
from app.web.dates import local_time

METHOD_LABELS = {
    "phash": "near-duplicate (perceptual hash)",
    "phash_mirror": "mirrored near-duplicate",
    "phash_trim": "near-duplicate inside borders (screenshot)",
    "dhash": "near-duplicate (difference hash)",
    "features": "same scene (local features, geometry verified)",
}


def _other(match: Match, image_id: int) -> int:
    return match.candidate_image_id if match.query_image_id == image_id else match.query_image_id


def describe_pairs(session: Session, pairs: list[tuple[Match, int]], tz: str) -> list[dict]:
    """Each (match, seen from image) as the page shows it: the other image, the cells it is a
    reference photo of and the posts it came from. Three queries however many pairs."""
    ids = sorted({_other(m, image_id) for m, image_id in pairs})
    if not ids:
        return []
    images = {i.id: i for i in session.exec(select(Image).where(col(Image.id).in_(ids))).all()}
    refs = session.exec(
        select(ReferencePhoto, Cell, Establishment)
        .join(Cell, col(Cell.id) == col(ReferencePhoto.cell_id))
        .join(Establishment, col(Establishment.id) == col(Cell.establishment_id))
        .where(col(ReferencePhoto.image_id).in_(ids), col(ReferencePhoto.removed_at).is_(None))
    ).all()
    cells: dict[int, list[dict[str, Any]]] = {}
    for ref, cell, est in refs:
        cells.setdefault(ref.image_id, []).append({
            "cell_id": cell.id, "label": cell.label, "establishment": est.code,
            "establishment_name": est.name, "photo_id": ref.id, "source": ref.source,
            "taken": local_time(ref.taken_on, tz), "added": local_time(ref.added_at, tz)})
    posts: dict[int, list[dict[str, Any]]] = {}
    for ev in session.exec(select(EvidenceImage).where(col(EvidenceImage.image_id).in_(ids))):
        posts.setdefault(ev.image_id, []).append({
            "account_id": ev.account_id, "post_url": ev.post_url,
            "posted": local_time(ev.posted_at, tz)})
    out = []
    for match, image_id in pairs:
        other = images.get(_other(match, image_id))
        if other is None:
            continue
        out.append({
            "match": match, "method": METHOD_LABELS.get(match.method, match.method),
            "other": image_facts(other, tz), "thumb": thumb_size(other, 320),
            "cells": cells.get(other.id or 0, []), "posts": posts.get(other.id or 0, []),
            "direction": "found for this image" if match.query_image_id == image_id
            else "this image was found for it",
        })
    return out


def describe(session: Session, image_id: int, matches: list[Match], tz: str) -> list[dict]:
    """Each candidate of one image as the page shows it, with a bounded number of queries."""
    return describe_pairs(session, [(m, image_id) for m in matches], tz)


def candidates_context(session: Session, image_id: int, tz: str,
                       policy: queue.Policy = queue.DEFAULT) -> dict[str, Any]:
    """The candidates block of an image page; `pending` keeps it polling while the second
    stage is queued or running (not once it has failed: the reason is shown instead)."""
    stage = queue.stage_of(session, service.run_for(session, image_id), utcnow(), policy)
    return {"image_id": image_id, "stage": stage, "pending": stage.waiting,
            "candidates": describe(session, image_id, service.candidates_for(session, image_id),
                                   tz)}


def candidates_json(session: Session, image_id: int, tz: str) -> dict[str, Any]:
    run = service.run_for(session, image_id)
    stage = queue.stage_of(session, run, utcnow())
    rows = describe(session, image_id, service.candidates_for(session, image_id), tz)
    return {
        "second_stage_done": stage.state == "done",
        "second_stage_error": stage.error if stage.state == "failed" else None,
        "second_stage": {"state": stage.state, "ahead": stage.ahead,
                         "attempts": stage.attempts, "last_error": stage.error or None},
        "candidates": [{
            "match_id": c["match"].id, "image_id": c["other"]["image_id"],
            "method": c["match"].method, "distance": c["match"].distance,
            "score": c["match"].inliers, "status": c["match"].status,
            "cells": c["cells"], "posts": c["posts"]} for c in rows],
    }


def review_rows(session: Session, limit: int, tz: str) -> list[tuple[Match, dict]]:
    """The newest pending matches, each described from its new image's side."""
    pending = session.exec(select(Match).where(Match.status == "pending")
                           .order_by(col(Match.created_at).desc()).limit(limit)).all()
    return [(d["match"], d) for d in describe_pairs(session, [(m, m.query_image_id)
                                                              for m in pending], tz)]
