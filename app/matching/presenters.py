"""How match candidates are described: the other image, and what it is (a cell, a post)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.auth.models import User
from app.db import utcnow
from app.evidence.models import EvidenceImage, Image, VideoFrame
from app.evidence.presenters import image_facts, thumb_size
from app.evidence.video_presenters import clock
from app.matching import queue, service
from app.matching.candidates import Candidate, Ranked, cells_of_images
from app.matching.confidence import confidence
from app.matching.models import Match
from app.matching.review import Item
from app.web.dates import local_time

METHOD_LABELS = {
    "phash": "near-duplicate (perceptual hash)",
    "phash_mirror": "mirrored near-duplicate",
    "phash_trim": "near-duplicate inside borders (screenshot)",
    "dhash": "near-duplicate (difference hash)",
    "features": "same scene (local features, geometry verified)",
    "frame_set": "same scene in several frames of the clip (each under the one-picture "
                 "threshold)",
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
            "confidence": confidence(match.method, match.distance, match.inliers),
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


QUEUE_WIDTH = 480  # two pictures side by side within the page's width


def _fit(width: int, height: int) -> tuple[int, int]:
    w = min(QUEUE_WIDTH, width)
    return w, max(1, round(height * w / max(1, width)))


def review_items(session: Session, items: list[Item], tz: str) -> list[dict[str, Any]]:
    """Queue items as the queue shows them: the pair described from the new image's side,
    the new image itself, who took it in and from which account, and the confidence in
    words. Three queries for the pairs and two for the new images, however many items."""
    described = {d["match"].id: d for d in describe_pairs(
        session, [(i.match, i.match.query_image_id) for i in items], tz)}
    ids = sorted({i.match.query_image_id for i in items})
    images = {i.id: i for i in session.exec(select(Image).where(col(Image.id).in_(ids)))}
    sources: dict[int, list[dict[str, Any]]] = {}
    for ev, username in session.exec(
            select(EvidenceImage, User.username)
            .outerjoin(User, col(User.id) == col(EvidenceImage.submitted_by))
            .where(col(EvidenceImage.image_id).in_(ids)).order_by(col(EvidenceImage.id))):
        sources.setdefault(ev.image_id, []).append({
            "account_id": ev.account_id, "by": username or "",
            "at": local_time(ev.submitted_at, tz)})
    frames = frames_for(session, ids + [i.match.candidate_image_id for i in items])
    out = []
    for item in items:
        d = described.get(item.match.id)
        image = images.get(item.match.query_image_id)
        if d is None or image is None:
            continue
        out.append({**d, "item": item, "confidence": item.confidence,
                    "more_photos": item.more_photos, "image": image_facts(image, tz),
                    "image_thumb": thumb_size(image, QUEUE_WIDTH),
                    "other_thumb": _fit(d["other"]["width"], d["other"]["height"]),
                    "sources": sources.get(image.id or 0, []),
                    "frame": frames.get(image.id or 0),
                    "other_frame": frames.get(item.match.candidate_image_id),
                    "found": local_time(item.match.created_at, tz)})
    return out


def frames_for(session: Session, image_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Which of these images are frames of a video: where in which clip (one query)."""
    out: dict[int, dict[str, Any]] = {}
    if not image_ids:
        return out
    for frame in session.exec(select(VideoFrame).where(
            col(VideoFrame.image_id).in_(sorted(set(image_ids))))
            .order_by(col(VideoFrame.id))):
        out.setdefault(frame.image_id, {"video_id": frame.video_id, "at": clock(frame.t)})
    return out
