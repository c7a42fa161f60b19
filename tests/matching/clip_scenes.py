"""A clip whose frames no single one links to its cell's photo, but several agree with it (a
zoom into the room): the clip pass links it as a frame set. Shared by the clip pass tests."""

from __future__ import annotations

import cv2
import numpy as np

from app.audit.service import SYSTEM
from app.db import unit_of_work
from app.estate.models import Cell, Establishment
from app.evidence import videos
from app.evidence.reference import add_reference_photo
from app.matching.engine import Limits
from tests.matching import scenes
from tests.video import clips

# No frame may link on its own: a one-picture threshold no score reaches (a worker started
# for these tests is given it as CELLWATCH_MATCH_VERIFY_MIN_SCORE).
UNREACHABLE = 10_000


def _zoom(photo: np.ndarray, zoom: float) -> np.ndarray:
    w, h = 720, 1280
    s = h / photo.shape[0] * zoom
    big = cv2.resize(photo, (round(photo.shape[1] * s), round(photo.shape[0] * s)),
                     interpolation=cv2.INTER_CUBIC)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y:y + h, x:x + w])


def zoom_video(settings, factory, index) -> tuple[int, int]:  # noqa: ANN001
    """A cell with its reference photo and a waiting video zooming into it: (video, photo)."""
    index.limits = Limits(verify_min_score=UNREACHABLE)
    room = scenes.room(28, (1600, 1000))
    with unit_of_work(factory) as s:
        est = Establishment(code="MDI", name="Moorland")
        s.add(est)
        s.flush()
        cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
        s.add(cell)
        s.flush()
        reference = add_reference_photo(s, settings, SYSTEM, cell_id=cell.id or 0,
                                        data=scenes.jpeg(room), filename="cell.jpg").image_id
    frames = [_zoom(room, z) for z in np.linspace(1.2, 1.3, 10)]
    prepared = videos.prepare(settings, data=clips.encode(frames, rate=5), filename="zoom.mp4")
    with unit_of_work(factory) as s:
        video, _ = videos.store(s, settings, SYSTEM, prepared)
        videos.link_post(s, SYSTEM, video, filename="zoom.mp4", url="", posted_at=None)
        return video.id or 0, reference
