"""The review queue: every pending match, one item per (new image, cell) or per image pair,
in the order an analyst should take them, filtered and paged through the URL.

Priority, first to last (`Item.key`):
1. cell candidates before image-to-image ones: a cell leads to a prisoner;
2. stronger confidence first (app/matching/confidence.py: the same picture, a near-identical
   copy, a close copy or a strong feature match, then possible and weak ones);
3. oldest first within a level, so nothing waits for ever behind newer work;
4. then the finer strength of candidates.py (distance, score, method, agreeing grid).

An image's pending pairs with several reference photos of one cell are one item (they are
decided together), shown by its strongest pair. Reads only; the whole pending set is ranked
in one query of narrow rows (plain tuples, no ORM objects: 16,000 pending pairs rank in a
fraction of the time whole Match rows took), then only the page shown loads its matches and
is described (a fixed number of queries however long the queue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.auth.models import User
from app.estate.models import Cell, Establishment
from app.evidence.hashing import hamming
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.candidates import GRID_BITS, SCORED_METHODS, mirror_dhash, strength
from app.matching.confidence import Confidence, confidence
from app.matching.models import Match

Kind = Literal["", "cell", "image"]
Method = Literal["", "near", "features"]
Age = Literal["", "day", "week", "older"]
AGES: dict[str, str] = {"day": "found in the last 24 hours", "week": "found in the last 7 days",
                        "older": "waiting more than 7 days"}
METHODS: dict[str, str] = {"near": "near-duplicates (perceptual hash)",
                           "features": "same scene (local features)"}
KINDS: dict[str, str] = {"cell": "cell candidates", "image": "other held images"}


@dataclass(frozen=True)
class Filters:
    kind: Kind = ""
    method: Method = ""
    establishment: str = ""  # a cell's establishment code
    submitted_by: int | None = None  # who took the new image in
    age: Age = ""

    @property
    def active(self) -> bool:
        return any((self.kind, self.method, self.establishment, self.submitted_by, self.age))


class Pending(NamedTuple):
    """What the ranking needs of one pending pair: the ranking query's row, whose columns
    carry these labels (rows are used as they come, not copied)."""

    id: int
    query_image_id: int
    method: str
    distance: int
    inliers: int | None
    created_at: datetime
    dhash_a: int
    dhash_b: int
    cell_id: int | None


@dataclass
class Ranked:
    """One decision to take, ranked: its strongest pair and what it is."""

    pair: Pending  # or the query's row itself, which has the same fields
    confidence: Confidence
    fine: tuple[int, int, int, int]
    more_photos: int = 0  # other pending pairs of the same image and cell, decided with it

    @property
    def key(self) -> tuple[int, int, datetime, tuple[int, int, int, int], int]:
        return (0 if self.pair.cell_id else 1, -self.confidence.level, self.pair.created_at,
                self.fine, self.pair.id)


@dataclass
class Item:
    """One decision to take, as a page shows it: the match (the strongest pair) and what it
    is."""

    match: Match
    cell_id: int | None
    confidence: Confidence
    fine: tuple[int, int, int, int]
    more_photos: int = 0


def _agreement(match: Match | Pending, dhash_a: int, dhash_b: int) -> int:
    if match.method in SCORED_METHODS:
        return match.inliers or 0
    theirs = mirror_dhash(dhash_b) if match.method == "phash_mirror" else dhash_b
    return GRID_BITS - hamming(dhash_a, theirs)


def _conditions(filters: Filters, now: datetime) -> list[object]:
    out: list[object] = [col(Match.status) == "pending"]
    if filters.method == "near":
        out.append(col(Match.method).not_in(SCORED_METHODS))
    elif filters.method == "features":
        out.append(col(Match.method).in_(SCORED_METHODS))
    if filters.kind == "cell":
        out.append(col(Cell.id).is_not(None))
    elif filters.kind == "image":
        out.append(col(Cell.id).is_(None))
    if filters.establishment:
        out.append(col(Establishment.code) == filters.establishment)
    if filters.age == "day":
        out.append(col(Match.created_at) >= now - timedelta(days=1))
    elif filters.age == "week":
        out.append(col(Match.created_at) >= now - timedelta(days=7))
    elif filters.age == "older":
        out.append(col(Match.created_at) < now - timedelta(days=7))
    if filters.submitted_by is not None:
        submitted = exists().where(col(EvidenceImage.image_id) == col(Match.query_image_id),
                                   col(EvidenceImage.submitted_by) == filters.submitted_by)
        out.append(submitted)
    return out


def ranked_queue(session: Session, filters: Filters, now: datetime) -> list[Ranked]:
    """Every pending item that passes the filters, in priority order (one query)."""
    query_image, other_image = aliased(Image), aliased(Image)
    active_photo = and_(col(ReferencePhoto.image_id) == col(Match.candidate_image_id),
                        col(ReferencePhoto.removed_at).is_(None))
    rows = session.execute(
        select(col(Match.id).label("id"), col(Match.query_image_id).label("query_image_id"),
               col(Match.method).label("method"), col(Match.distance).label("distance"),
               col(Match.inliers).label("inliers"), col(Match.created_at).label("created_at"),
               col(query_image.dhash).label("dhash_a"), col(other_image.dhash).label("dhash_b"),
               col(Cell.id).label("cell_id"))
        .join(query_image, col(query_image.id) == col(Match.query_image_id))
        .join(other_image, col(other_image.id) == col(Match.candidate_image_id))
        .outerjoin(ReferencePhoto, active_photo)
        .outerjoin(Cell, col(Cell.id) == col(ReferencePhoto.cell_id))
        .outerjoin(Establishment, col(Establishment.id) == col(Cell.establishment_id))
        .where(*_conditions(filters, now))
        .order_by(col(Match.id), col(Cell.id))).all()
    items: dict[tuple[int, str], Ranked] = {}
    seen: set[int] = set()
    for pair in rows:
        if pair.id in seen:  # a photo of two cells: its first cell stands for it
            continue
        seen.add(pair.id)
        item = Ranked(pair, confidence(pair.method, pair.distance, pair.inliers),
                      strength(pair, _agreement(pair, pair.dhash_a, pair.dhash_b)))
        group = (pair.query_image_id,
                 f"cell {pair.cell_id}" if pair.cell_id else f"match {pair.id}")
        earlier = items.get(group)
        if earlier is None:
            items[group] = item
            continue
        # the cell's strongest pair stands for it (and decides the others with it)
        stronger = item if (item.fine, pair.id) < (earlier.fine, earlier.pair.id) else earlier
        stronger.more_photos = earlier.more_photos + 1
        items[group] = stronger
    return sorted(items.values(), key=lambda i: i.key)


def page_items(session: Session, ranked: list[Ranked]) -> list[Item]:
    """The page's ranked items with their matches (one query)."""
    ids = [r.pair.id for r in ranked]
    matches = {m.id: m for m in session.exec(select(Match).where(col(Match.id).in_(ids)))
               } if ids else {}
    return [Item(matches[r.pair.id], r.pair.cell_id, r.confidence, r.fine, r.more_photos)
            for r in ranked if r.pair.id in matches]


def item_for(session: Session, match: Match) -> Item:
    """One match as a queue item, whatever its status (a decision just taken in place)."""
    cell_id = session.exec(
        select(ReferencePhoto.cell_id).where(col(ReferencePhoto.image_id) ==
                                             match.candidate_image_id,
                                             col(ReferencePhoto.removed_at).is_(None))
        .order_by(col(ReferencePhoto.cell_id))).first()
    return Item(match, cell_id, confidence(match.method, match.distance, match.inliers),
                (0, 0, 0, 0))


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """What the filter form offers: establishments with a cell in the library, and who has
    taken evidence in (two small queries)."""
    codes = session.exec(select(Establishment.code, Establishment.name)
                         .order_by(col(Establishment.code))).all()
    submitters = session.exec(
        select(User.id, User.username).where(
            exists().where(col(EvidenceImage.submitted_by) == col(User.id)))
        .order_by(col(User.username))).all()
    return {"establishments": [(c, f"{c} ({n})") for c, n in codes],
            "submitters": [(str(i), u) for i, u in submitters]}

