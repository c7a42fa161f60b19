"""Local features computed on several threads at once are exactly those computed alone: the
decode threads of a process (a video's frames, uploads) share no OpenCV object."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.evidence.hashing import features_from_gray


def _pictures(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        # blocky random scenes of different sizes: plenty of corners, each picture its own
        small = rng.integers(0, 256, size=(24 + i, 40 + 2 * i), dtype=np.uint8)
        out.append(np.kron(small, np.ones((12, 12), dtype=np.uint8))[:512, :512].copy())
    return out


def test_features_on_four_threads_at_once_equal_those_made_alone():
    pictures = _pictures(12)
    alone = [features_from_gray(p) for p in pictures]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            together = list(pool.map(features_from_gray, pictures))
            assert together == alone
