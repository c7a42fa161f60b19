"""The part of bench/matching_scale.py's library that a second look can need, and its uploads.

The second look (app/matching/second_look.py) reads the working images of the new image and of
the one shortlisted reference photo ORB nearly links (score before the scene check 8-19), so
every reference photo that can be shortlisted with real descriptors has a real stored picture,
added through the product's own `add_reference_photo` (sealed original, display copy,
features): the scenes the uploads show, and distractors whose ORB scores against an upload
reach 8 (near misses: look-alike rendered rooms, photograph-like scenes, and confirmed evidence
images of other cells that carry an account's running caption). The synthetic photos (random
descriptors) are never nearly linked: ORB's ratio test finds no agreement with them.

Uploads, per scene: a repost (a near duplicate: first stage), another viewpoint (ORB links it)
and a second photograph (from well to the side, turned, darker: ORB 10-22 before the scene
check against the scene's photo, 16 of the 20 under the threshold 20, SIFT 21-69: the look's
case; tests/bench/test_matching_scale_looks.py); and captioned reposts (the same running
caption as the captioned distractors: the look is spent on a wrong pair and must not link it).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOMS, PHOTOS = 10, 10  # scenes the uploads show: rendered rooms, photograph-like scenes
CAPTIONED, PLAIN_ROOMS, PLAIN_PHOTOS = 40, 120, 120  # distractors with stored pictures
REAL = ROOMS + PHOTOS + CAPTIONED + PLAIN_ROOMS + PLAIN_PHOTOS  # 300
CAPTIONED_UPLOADS = 10


@dataclass(frozen=True)
class Upload:
    kind: str  # repost | other_viewpoint | second_photograph | captioned_repost
    scene: int  # index of the scene's reference photo among the real ones (0..19)
    data: bytes


def _scene(i: int) -> np.ndarray:
    from tests.matching.scenes import photo_like, room

    return room(8000 + i) if i < ROOMS else photo_like(8100 + i - ROOMS)


def library() -> list[bytes]:
    """The REAL reference photos with pictures: the scenes first, then the distractors."""
    from tests.matching.scenes import jpeg, photo_like, room, running_caption

    out = [jpeg(_scene(i)) for i in range(ROOMS + PHOTOS)]
    out += [jpeg(running_caption(photo_like(8200 + i) if i % 2 else room(8200 + i)))
            for i in range(CAPTIONED)]
    out += [jpeg(room(8300 + i)) for i in range(PLAIN_ROOMS)]
    out += [jpeg(photo_like(8500 + i)) for i in range(PLAIN_PHOTOS)]
    return out


def uploads(round_: int = 0) -> list[Upload]:
    """Every scene's repost, other viewpoint and second photograph, and captioned reposts.
    round > 0: other bytes (JPEG quality), for a rerun on a kept database."""
    from PIL import Image

    from tests.matching.scenes import other_viewpoint, repost, running_caption, second_photograph

    out = []
    for i in range(ROOMS + PHOTOS):
        rgb = _scene(i)
        out += [Upload("repost", i, repost(rgb, quality=60 + i % 20)),
                Upload("other_viewpoint", i, other_viewpoint(rgb)),
                Upload("second_photograph", i, second_photograph(rgb))]
    for i in range(CAPTIONED_UPLOADS):
        out.append(Upload("captioned_repost", 2 * i, repost(running_caption(_scene(2 * i)), 75)))
    if not round_:
        return out
    again = []
    for up in out:
        buf = io.BytesIO()
        Image.open(io.BytesIO(up.data)).save(buf, "JPEG", quality=95 - round_)
        again.append(Upload(up.kind, up.scene, buf.getvalue()))
    return again


def add_real(url: str, data_dir: Path, first_cell: int, log: Any = print) -> dict:
    """The REAL reference photos, each of its own cell, through `add_reference_photo`.
    Returns the image id of each (in library order) and the time taken."""
    import app.models  # noqa: F401 - every table known, as in the app
    from app.audit.service import SYSTEM
    from app.db import make_engine, make_session_factory, unit_of_work
    from app.evidence.reference import add_reference_photo
    from app.settings import Settings

    t0 = time.perf_counter()
    settings = Settings(data_dir=data_dir, database_url=url)
    factory = make_session_factory(make_engine(url))
    ids = []
    for n, data in enumerate(library()):
        with unit_of_work(factory) as s:
            photo = add_reference_photo(s, settings, SYSTEM, cell_id=first_cell + n, data=data,
                                        filename=f"ref{n}.jpg")
            ids.append(photo.image_id)
        if n % 50 == 49:
            log(f"  real reference photos: {n + 1} ({time.perf_counter() - t0:.0f} s)")
    return {"image_ids": ids, "seconds": round(time.perf_counter() - t0, 1)}


class LookCounter:
    """Wraps the second stage's `second_look` (the bench's match worker only) to count the
    pairs it looks at again and the time it takes, per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float, float]] = []  # looks, wall ms, CPU ms
        self.rows: dict[int, tuple[int, int]] = {}  # shortlisted id -> ORB score, before check

    def install(self) -> None:
        from app.matching import second_look as module
        from app.matching import service

        inner = service.second_look

        def counted(rows: Any, limits: Any, query: Callable, pictures: Callable) -> Any:
            looks = len(module.offered(rows, limits))
            self.rows = {hit.image_id: (score, raw) for hit, score, raw in rows}
            t, c = time.perf_counter(), time.process_time()
            out = inner(rows, limits, query, pictures)
            self.calls.append((looks, (time.perf_counter() - t) * 1000,
                               (time.process_time() - c) * 1000))
            return out

        service.second_look = counted  # type: ignore[assignment]

    def take(self) -> tuple[int, float, float, dict[int, tuple[int, int]]]:
        """Looks, wall and CPU of the second look since the last take (0s if none ran), and
        the last upload's shortlisted candidates with their ORB scores."""
        calls, self.calls, rows, self.rows = self.calls, [], self.rows, {}
        return (sum(c[0] for c in calls), sum(c[1] for c in calls), sum(c[2] for c in calls),
                rows)
