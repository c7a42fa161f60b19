"""Pure in-memory indexes for matching (no DB): rebuilt/refreshed by the app from the DB.

HammingIndex: 64-bit perceptual hashes (int64, one column per hash kind), exact Hamming search
by a vectorised scan (XOR + popcount over contiguous columns, reused buffers).
DescriptorIndex: a few ORB descriptors per image, to rank second-stage candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_DEAD = 255  # distance given to removed rows: above any real distance (0..64)
_MASK = (1 << 64) - 1
# Hashes are kept as uint64: np.bitwise_count on signed ints counts bits of |x|, not of x.


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if np.unique(arr).size != arr.size:
        raise ValueError("duplicate ids in one call")
    return arr


class _Rows:
    """Shared id bookkeeping: append-only rows, tombstones, compaction."""

    def __init__(self) -> None:
        self._ids = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._n = 0  # rows in use (live + dead)
        self._dead = 0
        self._dead_rows: np.ndarray | None = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return self._n - self._dead

    def __contains__(self, item_id: int) -> bool:
        return bool(np.any((self._ids[: self._n] == item_id) & self._alive[: self._n]))

    def ids(self) -> np.ndarray:
        """Live ids (copy, unordered)."""
        return self._ids[: self._n][self._alive[: self._n]].copy()

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Tombstone the given ids (unknown ids are ignored); returns how many were removed."""
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if self._n == 0 or arr.size == 0:
            return 0
        rows = np.flatnonzero(np.isin(self._ids[: self._n], arr) & self._alive[: self._n])
        self._alive[rows] = False
        self._dead += rows.size
        self._dead_rows = None
        if self._dead > 1024 and self._dead * 4 > self._n:
            self._compact()
        return int(rows.size)

    def _dead_index(self) -> np.ndarray:
        if self._dead_rows is None:
            self._dead_rows = np.flatnonzero(~self._alive[: self._n])
        return self._dead_rows

    def _reserve(self, extra: int) -> int:
        """Make room for `extra` rows; returns the first new row."""
        need = self._n + extra
        if need > self._ids.size:
            cap = max(need, 2 * self._ids.size, 1024)
            self._grow(cap)
            self._ids = np.resize(self._ids, cap)
            self._alive = np.resize(self._alive, cap)
        return self._n

    def _append_ids(self, ids: np.ndarray) -> int:
        if self._n:
            self.remove(ids)  # re-adding an id replaces it
        start = self._reserve(ids.size)
        self._ids[start : start + ids.size] = ids
        self._alive[start : start + ids.size] = True
        self._n += ids.size
        return start

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._n])
        self._move(keep)
        self._ids[: keep.size] = self._ids[keep]
        self._alive[: keep.size] = True
        self._n, self._dead, self._dead_rows = keep.size, 0, np.empty(0, dtype=np.int64)

    def _grow(self, capacity: int) -> None:
        raise NotImplementedError

    def _move(self, keep: np.ndarray) -> None:
        raise NotImplementedError


class HammingIndex(_Rows):
    """Exact Hamming search over int64 hashes, `columns` hash kinds per item.

    The distance of an item to a query is the minimum over the queried columns of
    popcount(column XOR query value); a query gives one value per column (None skips it),
    which also lets one value be compared with several kinds (phash vs phash and mirror).
    """

    def __init__(self, columns: int = 1) -> None:
        super().__init__()
        if columns < 1:
            raise ValueError("columns must be >= 1")
        self.columns = columns
        self._hashes = np.empty((columns, 0), dtype=np.uint64)
        self._xor = np.empty(0, dtype=np.uint64)  # scan buffers, reused by every query
        self._dist = np.empty(0, dtype=np.uint8)
        self._tmp = np.empty(0, dtype=np.uint8)

    def _grow(self, capacity: int) -> None:
        grown = np.empty((self.columns, capacity), dtype=np.uint64)
        grown[:, : self._n] = self._hashes[:, : self._n]
        self._hashes = grown
        self._xor = np.empty(capacity, dtype=np.uint64)
        self._dist = np.empty(capacity, dtype=np.uint8)
        self._tmp = np.empty(capacity, dtype=np.uint8)

    def _move(self, keep: np.ndarray) -> None:
        self._hashes[:, : keep.size] = self._hashes[:, keep]

    def add(self, ids: Sequence[int] | np.ndarray, hashes: Sequence | np.ndarray) -> None:
        """Add items; `hashes` is (n,) for one column or (n, columns). Known ids are replaced."""
        id_arr = _as_ids(ids)
        h = np.asarray(hashes, dtype=np.int64)
        if h.ndim == 1 and self.columns == 1:
            h = h[:, None]
        if h.shape != (id_arr.size, self.columns):
            raise ValueError(f"hashes must have shape ({id_arr.size}, {self.columns})")
        start = self._append_ids(id_arr)
        self._hashes[:, start : start + id_arr.size] = h.T.view(np.uint64)

    def query(
        self,
        hashes: int | Sequence[int | None],
        max_distance: int = 64,
        limit: int | None = None,
    ) -> list[tuple[int, int]]:
        """(id, distance) with distance <= max_distance, by distance then id, at most `limit`."""
        single = isinstance(hashes, int | np.integer)
        values = [int(hashes)] * self.columns if single else list(hashes)
        if len(values) != self.columns or all(v is None for v in values):
            raise ValueError(f"give {self.columns} hash values (None to skip a column)")
        if limit is not None and limit < 1:
            raise ValueError("limit must be >= 1")
        n = self._n
        if n - self._dead == 0 or max_distance < 0:
            return []
        dist, xor, tmp = self._dist[:n], self._xor[:n], self._tmp[:n]
        first = True
        for col, value in enumerate(values):
            if value is None:
                continue
            np.bitwise_xor(self._hashes[col, :n], np.uint64(int(value) & _MASK), out=xor)
            np.bitwise_count(xor, out=dist if first else tmp)
            if not first:
                np.minimum(dist, tmp, out=dist)
            first = False
        if self._dead:
            dist[self._dead_index()] = _DEAD
        cutoff = min(max_distance, 64)
        if limit is not None and limit < n:
            cutoff = _smallest_cutoff(dist, cutoff, limit)
        hits = np.flatnonzero(dist <= cutoff)
        return _best(hits, dist[hits], self._ids[hits], limit, ascending=True)


def _smallest_cutoff(dist: np.ndarray, cutoff: int, limit: int) -> int:
    """Smallest t <= cutoff with at least `limit` distances <= t (else cutoff): a binary search
    of byte-array counts, ~7 cheap passes instead of a full sort or partition."""
    lo, hi = 0, cutoff
    if np.count_nonzero(dist <= hi) <= limit:
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        if np.count_nonzero(dist <= mid) >= limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _best(
    rows: np.ndarray, score: np.ndarray, ids: np.ndarray, limit: int | None, ascending: bool
) -> list[tuple[int, int]]:
    """Sort hits by score (ascending or descending) then id; keep `limit`, ties resolved by id."""
    key = score.astype(np.int64) if ascending else -score.astype(np.int64)
    if limit is not None and rows.size > limit:
        kth = np.partition(key, limit - 1)[limit - 1]
        keep = key <= kth  # everything that could be in the top `limit`, ties included
        key, ids, score = key[keep], ids[keep], score[keep]
    order = np.lexsort((ids, key))
    if limit is not None:
        order = order[:limit]
    return [(int(i), int(s)) for i, s in zip(ids[order], score[order], strict=True)]


class DescriptorIndex(_Rows):
    """Ranks images by ORB "votes": how many of the query's descriptors have a nearest
    neighbour in that image passing Lowe's ratio test. Cheap enough to run over a whole
    library (k x k distances per image), it finds other viewpoints that global hashes miss.
    """

    def __init__(self, keypoints: int = 64, ratio: float = 0.8, chunk: int = 512) -> None:
        super().__init__()
        self.keypoints, self.ratio, self.chunk = keypoints, ratio, chunk
        self._desc = np.empty((0, keypoints, 4), dtype=np.uint64)

    def _grow(self, capacity: int) -> None:
        grown = np.zeros((capacity, self.keypoints, 4), dtype=np.uint64)
        grown[: self._n] = self._desc[: self._n]
        self._desc = grown

    def _move(self, keep: np.ndarray) -> None:
        self._desc[: keep.size] = self._desc[keep]

    def _words(self, desc: np.ndarray) -> np.ndarray:
        d = np.ascontiguousarray(desc, dtype=np.uint8)
        if d.shape[-2:] != (self.keypoints, 32):
            raise ValueError(f"descriptors must be (..., {self.keypoints}, 32) uint8")
        return d.view(np.uint64)

    def add(self, ids: Sequence[int] | np.ndarray, descriptors: np.ndarray) -> None:
        """descriptors: (n, keypoints, 32) uint8 (zero rows = padding). Known ids are replaced."""
        id_arr = _as_ids(ids)
        words = self._words(descriptors)
        if words.shape[0] != id_arr.size:
            raise ValueError("one descriptor set per id")
        start = self._append_ids(id_arr)
        self._desc[start : start + id_arr.size] = words

    def query(self, descriptors: np.ndarray, limit: int) -> list[tuple[int, int]]:
        """(id, votes) with votes > 0, most votes first then id, at most `limit`."""
        q = self._words(descriptors)
        q = q[np.any(q != 0, axis=1)]  # padding never votes
        n = self._n
        if n - self._dead == 0 or q.size == 0:
            return []
        votes = np.zeros(n, dtype=np.int32)
        for lo in range(0, n, self.chunk):
            lib = self._desc[lo : min(lo + self.chunk, n)]
            pad = np.all(lib == 0, axis=2).astype(np.uint16) * 512  # padding is never near
            dist = np.zeros((lib.shape[0], q.shape[0], self.keypoints), dtype=np.uint16)
            dist += pad[:, None, :]
            for w in range(4):
                dist += np.bitwise_count(lib[:, None, :, w] ^ q[None, :, None, w])
            two = np.partition(dist, 1, axis=2)
            votes[lo : lo + lib.shape[0]] = np.count_nonzero(
                two[:, :, 0] < self.ratio * two[:, :, 1], axis=1
            )
        if self._dead:
            votes[self._dead_index()] = 0
        hits = np.flatnonzero(votes > 0)
        return _best(hits, votes[hits], self._ids[hits], limit, ascending=False)
