"""Approximate nearest neighbours over 256-bit binary descriptors (ORB): faiss's inverted-file
binary index (IndexBinaryIVF). Pure: no DB, no disk (serialise to bytes, the caller stores them).

Vectors are grouped into `nlist` lists around centroids (binary k-means on a sample); a query
scans the `nprobe` lists whose centroids are nearest, so its cost is ~ nprobe / nlist of a full
scan. Each stored vector carries its image id (several vectors share one), so removing an image
is one `remove_ids` and a result row names images directly. As the library grows the lists are
re-cut (more of them) from the codes already held, so a library that started small does not
end up with a few huge lists.
"""

from __future__ import annotations

import faiss
import numpy as np

from app.matching import parallel

BITS = 256
BYTES = BITS // 8
MIN_LISTS, MAX_LISTS = 64, 4096
PER_LIST = 1024  # target vectors per list when the lists are cut
TRAIN_PER_LIST = 24  # k-means sample per list (faiss wants >= 39 for best centroids)
TRAIN_ITERATIONS = 10
SPLIT_FROM = 16  # query rows from which a search is split over app/matching/parallel.py

# One thread: OpenMP threads spinning beside the web workers on a busy host made a 1.3 M
# vector build take 265 s instead of 15 s and a query 165 ms instead of 26 ms (2 shared
# cores); a long query is split over two Python threads instead (app/matching/parallel.py).
faiss.omp_set_num_threads(1)


def lists_for(n: int) -> int:
    """How many lists to cut for n vectors: a power of two near n / PER_LIST, clamped."""
    want = max(1, n // PER_LIST)
    return int(min(MAX_LISTS, max(MIN_LISTS, 1 << (want.bit_length() - 1))))


class BinaryIVF:
    """faiss IndexBinaryIVF with image ids, re-cut as it grows (see module docstring)."""

    def __init__(self, nprobe: int = 16, seed: int = 1234) -> None:
        self.nprobe, self.seed = nprobe, seed
        self._index: faiss.IndexBinaryIVF | None = None
        self._cut_at = 0  # vectors held when the lists were last cut

    @property
    def ntotal(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def nlist(self) -> int:
        return 0 if self._index is None else int(self._index.nlist)

    def add(self, codes: np.ndarray, ids: np.ndarray) -> None:
        """codes (n, 32) uint8, ids (n,) int64 (repeats allowed: one image, many vectors)."""
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, BYTES)
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if codes.shape[0] != ids.size:
            raise ValueError("one id per code")
        if ids.size == 0:
            return
        total = self.ntotal + ids.size
        if self._index is None or lists_for(total) >= 2 * self.nlist:
            old_codes, old_ids = self.contents()
            codes = np.concatenate([old_codes, codes])
            ids = np.concatenate([old_ids, ids])
            self._cut(codes)
        assert self._index is not None
        self._index.add_with_ids(codes, ids)

    def _cut(self, sample_from: np.ndarray) -> None:
        nlist = lists_for(sample_from.shape[0])
        nlist = min(nlist, max(1, sample_from.shape[0]))
        rng = np.random.default_rng(self.seed)
        take = min(sample_from.shape[0], nlist * TRAIN_PER_LIST)
        sample = sample_from[np.sort(rng.choice(sample_from.shape[0], take, replace=False))]
        quantizer = faiss.IndexBinaryFlat(BITS)
        index = faiss.IndexBinaryIVF(quantizer, BITS, nlist)
        index.cp.niter = TRAIN_ITERATIONS
        index.cp.seed = self.seed
        index.cp.min_points_per_centroid = 1  # a small sample is fine: centroids only route
        index.train(np.ascontiguousarray(sample))
        index.own_fields = True
        quantizer.this.disown()  # the index owns its quantizer now
        index.nprobe = self.nprobe
        self._index = index
        self._cut_at = sample_from.shape[0]

    def remove(self, ids: np.ndarray) -> int:
        if self._index is None or len(ids) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distances (m, k) int32, image ids (m, k) int64; -1 where fewer were found)."""
        q = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, BYTES)
        if self._index is None or self.ntotal == 0:
            return (np.full((q.shape[0], k), BITS + 1, dtype=np.int32),
                    np.full((q.shape[0], k), -1, dtype=np.int64))
        self._index.nprobe = min(self.nprobe, self.nlist)
        index = self._index
        if q.shape[0] < SPLIT_FROM:
            return index.search(q, k)
        # halves searched side by side (one search is a second stage's largest part)
        parts = parallel.map_all(lambda part: index.search(part, k),
                                 np.array_split(q, parallel.THREADS))
        return (np.concatenate([d for d, _ in parts]), np.concatenate([i for _, i in parts]))

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (code, id) held, list by list (codes (n, 32) uint8, ids (n,) int64)."""
        if self._index is None:
            return np.empty((0, BYTES), dtype=np.uint8), np.empty(0, dtype=np.int64)
        inv = self._index.invlists
        codes, ids = [], []
        for lst in range(self.nlist):
            size = inv.list_size(lst)
            if size:
                codes.append(faiss.rev_swig_ptr(inv.get_codes(lst), size * BYTES).copy()
                             .reshape(size, BYTES))
                ids.append(faiss.rev_swig_ptr(inv.get_ids(lst), size).copy())
        if not codes:
            return np.empty((0, BYTES), dtype=np.uint8), np.empty(0, dtype=np.int64)
        return np.concatenate(codes), np.concatenate(ids)

    def held_ids(self) -> np.ndarray:
        """The id of every vector held (repeats included), without copying the codes."""
        if self._index is None:
            return np.empty(0, dtype=np.int64)
        inv = self._index.invlists
        parts = [faiss.rev_swig_ptr(inv.get_ids(lst), size).copy()
                 for lst in range(self.nlist) if (size := inv.list_size(lst))]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    @property
    def faiss_index(self) -> faiss.IndexBinaryIVF | None:
        """The faiss index itself (to write it to a file with faiss's own writer)."""
        return self._index

    @classmethod
    def adopt(cls, index: object, nprobe: int = 16) -> BinaryIVF:
        """Wrap a faiss index read back from a file (ValueError if it is not one of ours)."""
        if not isinstance(index, faiss.IndexBinaryIVF) or index.d != BITS:
            raise ValueError("not a 256-bit binary inverted-file index")
        out = cls(nprobe=nprobe)
        out._index = index
        out._cut_at = int(index.ntotal)
        return out
