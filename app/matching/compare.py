"""Two pictures of a match side by side, with the points that agree drawn between them.

The points come from the second stage's own verification (`agreement.agreeing_points`, the
same inliers that `verify_features` scores), laid out for one SVG: both pictures scaled to
one height, the new image on the left. Features are measured on the picture inside any
screenshot bars or borders; where that differs from the whole picture, the box is found again
on the display copy so the points land on the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from app.errors import NotFound
from app.evidence import sift
from app.evidence.agreement import Agreement, agreeing_points
from app.evidence.borders import trim_borders
from app.evidence.errors import StoredImageDamaged
from app.evidence.hashing import (
    is_stale,
    load_working_image,
    unpack_features,
)
from app.evidence.images import read_display
from app.evidence.models import Image, ImageFeatures
from app.matching.models import Match
from app.settings import Settings

HEIGHT = 600.0  # both pictures at this height in the SVG's own units
GAP = 32.0
MAX_LINES = 80  # more hide the pictures; the caption says how many agree in all
Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the picture
WHOLE: Box = (0.0, 0.0, 1.0, 1.0)


@dataclass
class Side:
    image_id: int
    x: float
    width: float
    erased: bool

    @property
    def href(self) -> str:
        return f"/images/{self.image_id}/display"


@dataclass
class Comparison:
    match_id: int
    width: float
    height: float
    left: Side
    right: Side
    agreement: Agreement | None  # None: a side has no local features (or was withdrawn)
    second_look: bool = False  # the points are SIFT's: the pair was linked by the second look
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def drawn(self) -> int:
        return len(self.lines)


def _blob(session: Session, image: Image) -> bytes | None:
    if image.erased_at is not None:
        return None
    row = session.get(ImageFeatures, image.id)
    return None if row is None or is_stale(row.data) else row.data


def _content_box(settings: Settings, image: Image, blob: bytes) -> Box:
    """Where in the whole picture its features were measured: the whole of it, unless the
    analysed size has another shape (screenshot bars or borders were trimmed)."""
    _, _, (w, h) = unpack_features(blob)
    if w == 0 or h == 0 or abs(w / h - image.width / image.height) < 0.02:
        return WHOLE
    gray, _ = load_working_image(read_display(settings, image))
    top, bottom, left, right = trim_borders(gray)
    gh, gw = gray.shape
    return (left / gw, top / gh, right / gw, bottom / gh)


def _place(u: float, v: float, box: Box, side: Side) -> tuple[float, float]:
    x = box[0] + u * (box[2] - box[0])
    y = box[1] + v * (box[3] - box[1])
    return side.x + x * side.width, y * HEIGHT


def layout(match_id: int, a: Image, b: Image, agreement: Agreement | None,
           box_a: Box = WHOLE, box_b: Box = WHOLE) -> Comparison:
    """Pure: where each picture and each agreeing line goes in the SVG."""
    wa = HEIGHT * a.width / max(a.height, 1)
    wb = HEIGHT * b.width / max(b.height, 1)
    left = Side(a.id or 0, 0.0, wa, a.erased_at is not None)
    right = Side(b.id or 0, wa + GAP, wb, b.erased_at is not None)
    out = Comparison(match_id, wa + GAP + wb, HEIGHT, left, right, agreement)
    if agreement is None:
        return out
    step = max(1, -(-len(agreement.pairs) // MAX_LINES))
    for (ua, va), (ub, vb) in agreement.pairs[::step]:
        out.lines.append((*_place(ua, va, box_a, left), *_place(ub, vb, box_b, right)))
    return out


def compare(session: Session, settings: Settings, match: Match) -> Comparison:
    """The match's pictures (new image left) and what agrees between them."""
    a = session.get(Image, match.query_image_id)
    b = session.get(Image, match.candidate_image_id)
    assert a is not None and b is not None  # foreign keys
    blob_a, blob_b = _blob(session, a), _blob(session, b)
    if blob_a is None or blob_b is None:
        return layout(match.id or 0, a, b, None)
    seen, looked = agreeing_points(blob_a, blob_b), False
    if match.method == "features" and seen.score < (match.inliers or 0):
        # ORB's points fall short of the stored score: the second look linked the pair, so
        # its points are drawn (from the display copies it read), not ORB's few
        try:
            again = sift.agreement(sift.working_content(read_display(settings, a)),
                                   sift.working_content(read_display(settings, b)))
        except (NotFound, StoredImageDamaged):  # a copy gone or damaged (logged): ORB's
            again = seen
        if again.score > seen.score:
            seen, looked = again, True
    out = layout(match.id or 0, a, b, seen, _content_box(settings, a, blob_a),
                 _content_box(settings, b, blob_b))
    out.second_look = looked
    return out
