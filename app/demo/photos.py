"""The demo's pictures: a reference photo for every cell, and each account's images made from
the photo of its story cell by the edit the story names.

Cells a story uses get a room rendered in 3D (app/demo/rooms.py), so that another viewpoint
is a true re-render; the hundreds of others get a quick 2D sketch (app/demo/sketch.py).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np
from PIL import Image

from app.demo import edits
from app.demo.rooms import make_scene, moved_camera, photograph, render
from app.demo.sketch import sketch_room
from app.evidence.derive import decode as analyse
from app.evidence.images import Prepared
from app.evidence.validation import check_upload
from app.settings import Settings

SIZE = (640, 480)  # small pictures keep the build quick; matching works the same
SKETCH_SIZE = (512, 384)  # the matching's working size: a third less work per cell than 640
PX_PER_M = 100  # texture detail enough for 640 px (the benchmark's 1440 px use 300)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class StoryCell:
    """One rendered room: its reference photo, and the images its accounts posted."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.scene = make_scene(seed, PX_PER_M)
        rng = np.random.default_rng(seed)
        self.reference = photograph(render(self.scene, self.scene.camera, SIZE), rng)
        self._rgb = decode(self.reference)

    def another_viewpoint(self, salt: int = 0) -> bytes:
        rng = np.random.default_rng(self.seed * 7 + 1 + salt)
        camera, _, _ = moved_camera(self.scene, rng)
        return photograph(render(self.scene, camera, SIZE), rng)

    def edited(self, edit: str) -> bytes:
        made: dict[str, Callable[[np.ndarray], bytes]] = {
            "repost": edits.repost, "crop": edits.crop, "screenshot": edits.screenshot,
            "selfie": edits.mirrored_selfie, "overlay": edits.overlay}
        if edit == "viewpoint":
            return self.another_viewpoint()
        return made[edit](self._rgb)


def sketch_photo(seed: int) -> bytes:
    return edits.jpeg(sketch_room(seed, SKETCH_SIZE), 85)


def copy_of(data: bytes) -> bytes:
    """Another account's post of the same picture: the platform's re-encode of it."""
    return edits.repost(decode(data))


Job = tuple[str, bytes | int]  # (file name, its bytes or the seed of a sketch)
Preparing = Callable[[list[Job]], Iterator[Prepared]]


def _prepare(settings: Settings, job: Job) -> Prepared:
    """What evidence/images.prepare does before its look for the same bytes held (`store`
    looks again): the checks, the display copy, the hashes and the local features. A sketch
    is drawn here too, from its seed."""
    filename, payload = job
    data = sketch_photo(payload) if isinstance(payload, int) else payload
    facts = check_upload(data, filename, settings)
    decoded = analyse(data, facts.format, filename, long_side=settings.display_long_side,
                      local_timezone=settings.local_timezone, features=True)
    return Prepared(filename, data, hashlib.sha256(data).hexdigest(), facts, decoded)


@contextmanager
def preparer(settings: Settings, workers: int) -> Iterator[Preparing]:
    """Every reference photo's slow part (drawing, decoding, hashing, local features), on
    `workers` processes: the hundreds of cells are most of the build's time. Jobs are handed
    out at once and their results come back in order, so the caller stores (and renders)
    while the workers prepare."""
    work = partial(_prepare, settings)
    if workers <= 1:
        yield lambda jobs: map(work, jobs)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding a database
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield lambda jobs: pool.map(work, jobs, chunksize=16)
