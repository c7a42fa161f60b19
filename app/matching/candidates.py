"""An image's candidates grouped and ranked as an analyst weighs them: one entry per cell.

Several reference photos of one cell are one candidate, shown with its strongest pair; the
other held images (evidence from other accounts) that match follow the cells. Reads only.

Ranking, strongest first (`strength`):
1. a near-duplicate (global hash) beats a feature match;
2. then a smaller Hamming distance (near-duplicates) or a higher verification score
   (feature matches; their stored distance is only the shortlist's and is not compared);
3. then the stronger method: plain phash, then inside borders, then mirrored;
4. then how much of the picture agrees: for a near-duplicate the share of dhash's 8x8
   gradient grid that agrees (mirrored when the match was), for a feature match its score,
   which already counts agreeing cells of an 8x8 grid;
5. true ties are listed by cell label (cells) or by when the image came in (images), never by
   a match id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app.estate.models import Cell, Establishment
from app.evidence.hashing import hamming
from app.evidence.models import Image, ReferencePhoto
from app.matching.models import Match

METHOD_STRENGTH = {"phash": 0, "phash_trim": 1, "phash_mirror": 2, "dhash": 3, "features": 4,
                   "frame_set": 5}
# Methods whose strength is a verification score (inliers), not a Hamming distance: a feature
# match, and a clip's frames together (app/matching/frame_sets.py)
SCORED_METHODS = ("features", "frame_set")
GRID_BITS = 64


def mirror_dhash(value: int) -> int:
    """The dhash of the mirrored picture, from the stored one: each row of the 8x8 grid read
    backwards, every gradient reversed (equal neighbours aside)."""
    unsigned = value & ((1 << 64) - 1)
    out = 0
    for row in range(8):
        bits = (unsigned >> (8 * (7 - row))) & 0xFF
        flipped = int(f"{bits:08b}"[::-1], 2) ^ 0xFF
        out = (out << 8) | flipped
    return out


def agreement(match: Match, image: Image, other: Image) -> int:
    """How much of the picture agrees: agreeing dhash grid cells of 64 (near-duplicates), or
    the verification score (feature matches)."""
    if match.method in SCORED_METHODS:
        return match.inliers or 0
    theirs = mirror_dhash(other.dhash) if match.method == "phash_mirror" else other.dhash
    return GRID_BITS - hamming(image.dhash, theirs)


class Scored(Protocol):
    """What ranks a pair: a Match, or a narrow row of one (review.Pending)."""

    @property
    def method(self) -> str: ...
    @property
    def distance(self) -> int: ...
    @property
    def inliers(self) -> int | None: ...


def strength(match: Scored, agrees: int) -> tuple[int, int, int, int]:
    """Sort key of one pair, strongest first (smaller sorts first)."""
    features = match.method in SCORED_METHODS
    closeness = -(match.inliers or 0) if features else match.distance
    return (int(features), closeness, METHOD_STRENGTH.get(match.method, 9), -agrees)


@dataclass
class Pair:
    """One match seen from the image: the other image and how strongly they agree."""

    match: Match
    other: Image
    agreement: int

    @property
    def key(self) -> tuple[int, int, int, int]:
        return strength(self.match, self.agreement)


@dataclass
class CellRef:
    photo: ReferencePhoto
    cell: Cell
    establishment: Establishment


@dataclass
class Candidate:
    """A cell (its matched reference photos) or one other held image."""

    kind: str  # cell | image
    pairs: list[Pair] = field(default_factory=list)
    cell: CellRef | None = None

    @property
    def best(self) -> Pair:
        return self.pairs[0]

    @property
    def status(self) -> str:
        """The cell's decision: confirmed if any pair is, pending while any is, else rejected."""
        statuses = {p.match.status for p in self.pairs}
        for status in ("confirmed", "pending"):
            if status in statuses:
                return status
        return "rejected"

    def sort_key(self) -> tuple[int, tuple[int, int, int, int], str, datetime]:
        tie = self.cell.cell.label if self.cell else ""
        return (0 if self.kind == "cell" else 1, self.best.key, tie, self.best.other.created_at)


def other_side(match: Match, image_id: int) -> int:
    return match.candidate_image_id if match.query_image_id == image_id else match.query_image_id


def group(image: Image, matches: list[Match], others: dict[int, Image],
          cells_of: dict[int, list[CellRef]]) -> list[Candidate]:
    """Pure: one candidate per cell, then one per other image, ranked (see the module)."""
    by_cell: dict[int, Candidate] = {}
    images: list[Candidate] = []
    for match in matches:
        other = others.get(other_side(match, image.id or 0))
        if other is None:
            continue
        pair = Pair(match, other, agreement(match, image, other))
        refs = cells_of.get(other.id or 0, [])
        for ref in refs:
            entry = by_cell.setdefault(ref.cell.id or 0, Candidate("cell", cell=ref))
            entry.pairs.append(pair)
        if not refs:
            images.append(Candidate("image", [pair]))
    out = [*by_cell.values(), *images]
    for entry in out:
        entry.pairs.sort(key=lambda p: (p.key, p.other.created_at))
    return sorted(out, key=Candidate.sort_key)


def cells_statement(image_ids: list[int]) -> Select[tuple[ReferencePhoto, Cell, Establishment]]:
    """The active reference photos of these images with their cells (one query per upload:
    on SQLite it needs the planner's statistics, see app/db_statistics.py)."""
    return (select(ReferencePhoto, Cell, Establishment)
            .join(Cell, col(Cell.id) == col(ReferencePhoto.cell_id))
            .join(Establishment, col(Establishment.id) == col(Cell.establishment_id))
            .where(col(ReferencePhoto.image_id).in_(image_ids),
                   col(ReferencePhoto.removed_at).is_(None)))


def cells_of_images(session: Session, image_ids: list[int]) -> dict[int, list[CellRef]]:
    """The cells each image is an active reference photo of."""
    if not image_ids:
        return {}
    rows = session.exec(cells_statement(image_ids)).all()
    out: dict[int, list[CellRef]] = {}
    for photo, cell, est in rows:
        out.setdefault(photo.image_id, []).append(CellRef(photo, cell, est))
    return out


@dataclass
class Ranked:
    """Ranked candidates with the rows read to rank them (for describing them again)."""

    entries: list[Candidate]
    images: dict[int, Image]
    cells: dict[int, list[CellRef]]


def ranked(session: Session, image: Image, matches: list[Match]) -> Ranked:
    """The image's candidates grouped per cell and ranked; two queries however many."""
    ids = sorted({other_side(m, image.id or 0) for m in matches})
    if not ids:
        return Ranked([], {}, {})
    others = {i.id or 0: i for i in session.exec(select(Image).where(col(Image.id).in_(ids)))}
    cells = cells_of_images(session, ids)
    return Ranked(group(image, matches, others, cells), others, cells)
