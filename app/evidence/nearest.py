"""Ratio-test matches between two sets of binary descriptors (ORB's 256 bits): pure.

What `cv2.BFMatcher(NORM_HAMMING).knnMatch(a, b, k=2)` followed by the ratio test gives, from
faiss's exact binary search instead: the two nearest come back as arrays, with no Python
object per match (0.9 ms against 1.5 ms for a pair of 500-keypoint images; a second stage
verifies some thirty such pairs). The same pairs in the same order: the nearest neighbour
is the one `knnMatch` gives whenever it passes the test (a tie for nearest never passes it),
and the second distance does not depend on which of a tie comes second
(tests/evidence/test_nearest.py checks both on pictures made in code).
"""

from __future__ import annotations

import faiss
import numpy as np

BITS = 256

# One thread: as app/matching/ann.py (OpenMP threads spinning beside the web workers).
faiss.omp_set_num_threads(1)


def ratio_pairs(a: np.ndarray, b: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices into a, indices into b) of each descriptor of `a` whose nearest in `b` is
    nearer than `ratio` times its second nearest, in a's order (a, b: n x 32 uint8)."""
    if len(a) == 0 or len(b) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    flat = faiss.IndexBinaryFlat(BITS)
    flat.add(np.ascontiguousarray(b, dtype=np.uint8))
    dist, idx = flat.search(np.ascontiguousarray(a, dtype=np.uint8), 2)
    ok = dist[:, 0] < ratio * dist[:, 1]
    return np.flatnonzero(ok), idx[ok, 0].astype(np.int64)
