"""How match candidates are described: the other image, and what it is (a cell, a post)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.estate.models import Cell, Establishment
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.evidence.views import image_facts, local_time, thumb_size
from app.matching.models import Match

METHOD_LABELS = {
    "phash": "near-duplicate (perceptual hash)",
    "phash_mirror": "mirrored near-duplicate",
    "phash_trim": "near-duplicate inside borders (screenshot)",
    "dhash": "near-duplicate (difference hash)",
    "features": "same scene (local features, geometry verified)",
}


def describe(session: Session, image_id: int, matches: list[Match], tz: str) -> list[dict]:
    """Each candidate as the page shows it, with a bounded number of queries."""
    others = {m.id: (m.candidate_image_id if m.query_image_id == image_id
                     else m.query_image_id) for m in matches}
    ids = sorted(set(others.values()))
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
    for match in matches:
        other = images.get(others[match.id])
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
