"""A portrait video frame's local features are measured at the reference photos' scale
(hashing.FRAME_PORTRAIT_SIDE), so a phone zooming into a cell is linked to the cell's
landscape reference photo: at the photo's own working size the frame is too magnified for the
same corners to be found. Pure checks on rendered cells, then the match workers' path on
committed databases (a SQLite file and PostgreSQL)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image as Picture
from sqlmodel import col, select

from app.audit.service import SYSTEM
from app.db import unit_of_work
from app.estate.models import Cell, Establishment
from app.evidence import hashing, videos
from app.evidence.hashing import (
    FRAME_PORTRAIT_SIDE,
    WORK_SIDE,
    compute_features,
    frame_features,
    unpack_features,
    verify_features,
)
from app.evidence.models import ImageFeatures, VideoFrame
from app.evidence.reference import add_reference_photo
from app.matching.models import Match
from app.matching.thresholds import VERIFY_MIN_SCORE
from app.matching.worker import drain
from tests.matching import scenes
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.video import clips

PHOTO = (1600, 1000)  # a landscape cell photo, as staff take them
FRAME = (720, 1280)  # a phone's portrait frame


def _zoomed_frame(photo: np.ndarray, zoom: float = 1.25) -> np.ndarray:
    """The portrait frame of a phone filming the middle of the room, `zoom` times closer
    than the frame that the room's height just fills."""
    w, h = FRAME
    s = h / photo.shape[0] * zoom
    big = cv2.resize(photo, (round(photo.shape[1] * s), round(photo.shape[0] * s)),
                     interpolation=cv2.INTER_CUBIC)
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y:y + h, x:x + w])


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Picture.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("seed", [22, 24, 28, 29])
def test_a_zoomed_portrait_frame_is_linked_to_its_cells_photo_at_the_frame_scale(seed):
    room = scenes.room(seed, PHOTO)
    reference = compute_features(scenes.jpeg(room))
    frame = _png(_zoomed_frame(room))
    assert verify_features(frame_features(frame), reference) >= VERIFY_MIN_SCORE
    # what the frame scored when it was analysed as a photo is: not a link
    assert verify_features(compute_features(frame), reference) < VERIFY_MIN_SCORE


def test_only_a_portrait_frame_changes_scale():
    room = scenes.room(24, PHOTO)
    portrait = _png(_zoomed_frame(room))
    _, _, size = unpack_features(frame_features(portrait))
    assert max(size) == FRAME_PORTRAIT_SIDE and size[0] < size[1]
    # a landscape frame (a film, or a story's letterboxed picture once its bars are trimmed)
    # is measured as a photo is: the same blob
    landscape = _png(cv2.resize(room, (1280, 800), interpolation=cv2.INTER_AREA))
    assert frame_features(landscape) == hashing.compute_features(landscape)
    assert max(unpack_features(frame_features(landscape))[2]) == WORK_SIDE


def test_a_workers_frame_of_a_zoom_into_a_cell_is_linked_to_the_cells_photo(live):  # noqa: F811
    settings, factory, index = live
    room = scenes.room(28, PHOTO)
    with unit_of_work(factory) as s:
        est = Establishment(code="MDI", name="Moorland")
        s.add(est)
        s.flush()
        cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
        s.add(cell)
        s.flush()
        reference = add_reference_photo(s, settings, SYSTEM, cell_id=cell.id or 0,
                                        data=scenes.jpeg(room), filename="cell.jpg").image_id
    frames = [_zoomed_frame(room, z) for z in np.linspace(1.2, 1.3, 10)]
    prepared = videos.prepare(settings, data=clips.encode(frames, rate=5), filename="zoom.mp4")
    with unit_of_work(factory) as s:
        video, _ = videos.store(s, settings, SYSTEM, prepared)
        videos.link_post(s, SYSTEM, video, filename="zoom.mp4", url="", posted_at=None)
        video_id = video.id
    drain(factory, index, settings=settings)
    with factory() as s:
        frame_ids = set(s.exec(select(VideoFrame.image_id).where(
            VideoFrame.video_id == video_id)).all())
        assert frame_ids
        for image_id in frame_ids:  # each frame's features measured at the frame scale
            blob = s.get(ImageFeatures, image_id).data
            assert max(unpack_features(blob)[2]) == FRAME_PORTRAIT_SIDE
        linked = s.exec(select(Match).where(
            col(Match.query_image_id).in_(frame_ids), Match.candidate_image_id == reference,
            Match.method == "features")).all()
    assert linked and all(m.inliers >= VERIFY_MIN_SCORE for m in linked)
