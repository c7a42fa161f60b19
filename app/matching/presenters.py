"""How match candidates are described: the other image, and what it is (a cell, a post)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.evidence.models import EvidenceImage, Image
from app.evidence.presenters import image_facts, thumb_size
from app.matching import queue, service
from app.matching.candidates import Candidate, Ranked, agreement, cells_of_images, strength
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


def describe_pairs(session: Session, pairs: list[tuple[Match, int]], tz: str,
                   known: Ranked | None = None) -> list[dict]:
    """Each (match, seen from image) as the page shows it: the other image, the cells it is a
    reference photo of and the posts it came from. Three queries however many pairs (one when
    `known` brings the images and cells already read)."""
    ids = sorted({_other(m, image_id) for m, image_id in pairs})
    if not ids:
        return []
    if known is None:
        images = {i.id or 0: i for i in session.exec(select(Image).where(col(Image.id).in_(ids)))}
        library = cells_of_images(session, ids)
    else:
        images, library = known.images, known.cells
    cells: dict[int, list[dict[str, Any]]] = {}
    for ref, cell, est in ((r.photo, r.cell, r.establishment)
                           for image_id in ids for r in library.get(image_id, [])):
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


def _cell_words(entry: Candidate) -> dict[str, Any] | None:
    if entry.cell is None:
        return None
    cell, est = entry.cell.cell, entry.cell.establishment
    return {"cell_id": cell.id, "label": cell.label, "establishment": est.code,
            "establishment_name": est.name}


def describe_ranked(session: Session, image_id: int, tz: str) -> list[dict]:
    """The image's ranked candidates as pages and the API show them: one entry per cell
    (its strongest pair side by side, every matched reference photo of the cell listed
    under it), then one per other held image. Each entry keeps the keys of its strongest
    pair (`match`, `other`, `cells`, `posts`, ...) so that earlier readers still work."""
    ranked = service.ranked_candidates(session, image_id)
    pairs = {(p.match.id or 0): p for entry in ranked.entries for p in entry.pairs}
    described = {d["match"].id: d for d in describe_pairs(
        session, [(p.match, image_id) for p in pairs.values()], tz, ranked)}
    out = []
    for rank, entry in enumerate(ranked.entries, start=1):
        photos = [{**described[p.match.id], "agreement": p.agreement}
                  for p in entry.pairs if p.match.id in described]
        if not photos:
            continue
        undecided = next((p["match"] for p in photos if p["match"].status == "pending"), None)
        confirmed = next((p["match"] for p in photos if p["match"].status == "confirmed"), None)
        out.append({**photos[0], "rank": rank, "kind": entry.kind, "cell": _cell_words(entry),
                    "status": entry.status, "photos": photos, "undecided": undecided,
                    "confirmed": confirmed})
    return out


def candidates_context(session: Session, image_id: int, tz: str,
                       policy: queue.Policy = queue.DEFAULT) -> dict[str, Any]:
    """The candidates block of an image page; `pending` keeps it polling while the second
    stage is queued or running (not once it has failed: the reason is shown instead)."""
    stage = queue.stage_of(session, service.run_for(session, image_id), utcnow(), policy)
    return {"image_id": image_id, "stage": stage, "pending": stage.waiting,
            "candidates": describe_ranked(session, image_id, tz)}


def _pair_json(c: dict[str, Any]) -> dict[str, Any]:
    m = c["match"]
    return {"match_id": m.id, "image_id": c["other"]["image_id"], "method": m.method,
            "distance": m.distance, "score": m.inliers, "status": m.status,
            "agreement": c["agreement"], "cells": c["cells"], "posts": c["posts"]}


def candidates_json(session: Session, image_id: int, tz: str) -> dict[str, Any]:
    """An image's candidates for the API: one entry per cell, then per other image, ranked.
    An entry's first fields are those of its strongest pair (as before grouping); `kind`,
    `cell`, `rank`, `agreement`, `decision` and `photos` (every pair of the entry) were
    added (see app/matching/schemas.py)."""
    run = service.run_for(session, image_id)
    stage = queue.stage_of(session, run, utcnow())
    rows = describe_ranked(session, image_id, tz)
    return {
        "second_stage_done": stage.state == "done",
        "second_stage_error": stage.error if stage.state == "failed" else None,
        "second_stage": {"state": stage.state, "ahead": stage.ahead,
                         "attempts": stage.attempts, "last_error": stage.error or None},
        "candidates": [{**_pair_json(c), "rank": c["rank"], "kind": c["kind"],
                        "cell": c["cell"], "decision": c["status"],
                        "photos": [_pair_json(p) for p in c["photos"]]} for c in rows],
    }


def review_rows(session: Session, limit: int, tz: str) -> list[tuple[Match, dict]]:
    """The newest pending matches, each described from its new image's side; an image's
    pending pairs with one cell's reference photos are one row (they are decided together),
    shown by its strongest pair with `more_photos` counting the others."""
    pending = session.exec(select(Match).where(Match.status == "pending")
                           .order_by(col(Match.created_at).desc()).limit(limit)).all()
    ids = {i for m in pending for i in (m.query_image_id, m.candidate_image_id)}
    images = {i.id: i for i in session.exec(select(Image).where(col(Image.id).in_(ids)))}

    def key_of(m: Match) -> tuple[int, int, int, int]:
        query, other = images.get(m.query_image_id), images.get(m.candidate_image_id)
        return strength(m, agreement(m, query, other) if query and other else 0)

    rows: dict[tuple[int, str], tuple[Match, dict]] = {}
    for d in describe_pairs(session, [(m, m.query_image_id) for m in pending], tz):
        match: Match = d["match"]
        key = (match.query_image_id,
               f"cell {d['cells'][0]['cell_id']}" if d["cells"] else f"image {match.id}")
        earlier = rows.get(key)
        if earlier is None:
            rows[key] = (match, {**d, "more_photos": 0})
            continue
        more = earlier[1]["more_photos"] + 1
        if key_of(match) < key_of(earlier[0]):
            rows[key] = (match, {**d, "more_photos": more})
        else:
            earlier[1]["more_photos"] = more
    return list(rows.values())
