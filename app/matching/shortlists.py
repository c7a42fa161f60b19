"""Short lists kept per process between an image's second stage and a later use of them (the
clip pass of the video the image is a frame of), so that they are not computed twice.

An image's short list costs two searches of the vote index (the picture and its mirror image:
about 23 ms at 100,000 reference photos, bench/results/video_speed.md). The clip pass needs each
frame's list again once every frame's second stage has run; on the speed bench's clip that was
0.34 s of the pass's 0.5 s. A list is kept only while what it was computed from holds: the same
image (its id, hashes and features) and the same reference library (the vote index's own count
of changes, which every added, replaced, removed or erased reference photo moves). Held images
that arrived since (such as the clip's other frames) do not drop it: they are not reference
photos, and the clip pass keeps only reference photos of a list. Bounded (least recently used
first out), and per process: a pass in another worker computes the lists it lacks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
KEPT = 1024  # a clip's frames (at most 400) and the photos' stages between them


class KeptShortlists(Generic[T]):
    """image id -> (key, short list); a list is returned only under the key it was kept with."""

    def __init__(self, size: int = KEPT) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self.size = size
        self._kept: OrderedDict[int, tuple[Hashable, tuple[T, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def put(self, image_id: int, key: Hashable, hits: Sequence[T]) -> None:
        with self._lock:
            self._kept[image_id] = (key, tuple(hits))
            self._kept.move_to_end(image_id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def get(self, image_id: int, key: Hashable) -> list[T] | None:
        """The kept list, or None when there is none or it was kept under another key."""
        with self._lock:
            kept = self._kept.get(image_id)
            if kept is None or kept[0] != key:
                return None
            self._kept.move_to_end(image_id)
            return list(kept[1])
