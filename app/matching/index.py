"""Pure in-memory indexes for matching (no DB): rebuilt/refreshed by the app from the DB.

HammingIndex: 64-bit perceptual hashes (int64, one column per hash kind), exact Hamming search
by a vectorised scan (XOR + popcount over contiguous columns, reused buffers).
DescriptorIndex: a few ORB descriptors per image, to rank second-stage candidates (an exact
scan while the library is small, an approximate nearest-neighbour index beyond).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from app.matching.ann import BinaryIVF

_DEAD = 255  # distance given to removed rows: above any real distance (0..64)
_MASK = (1 << 64) - 1
# Hashes are kept as uint64: np.bitwise_count on signed ints counts bits of |x|, not of x.


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if np.unique(arr).size != arr.size:
        raise ValueError("duplicate ids in one call")
    return arr


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """One call at a time on an index: a query scans through buffers and rows that another
    query, an addition or a compaction would overwrite (a web process serves its uploads'
    first stages from several threads: two queries at once on shared scan buffers gave each
    other's answers, 90 of 120 in a test before this lock)."""

    @functools.wraps(method)
    def wrapper(self: _Rows, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _Rows:
    """Shared id bookkeeping: append-only rows, tombstones, compaction."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = np.empty(0, dtype=np.int64)
        self._alive = np.empty(0, dtype=bool)
        self._n = 0  # rows in use (live + dead)
        self._dead = 0
        self._dead_rows: np.ndarray | None = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return self._n - self._dead

    @_locked
    def __contains__(self, item_id: int) -> bool:
        return bool(np.any((self._ids[: self._n] == item_id) & self._alive[: self._n]))

    @_locked
    def ids(self) -> np.ndarray:
        """Live ids (copy, unordered)."""
        return self._ids[: self._n][self._alive[: self._n]].copy()

    @_locked
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

    @_locked
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

    @_locked
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
    neighbour in that image passing Lowe's ratio test (nearest < ratio x second nearest, both
    within that image); it finds other viewpoints that global hashes miss.

    A small library is scanned exactly (k x k distances per image). From `ann_from` images on,
    the descriptors move to an approximate nearest-neighbour index (app/matching/ann.py): each
    query descriptor's `neighbours` nearest library descriptors are found without a scan, and
    an image in that list votes if its nearest there passes the ratio test against its second
    nearest there, or, if that is not in the list, against the list's farthest (a lower bound
    of the image's real second nearest). Images with no descriptor among the neighbours get no
    vote: the ones a scan would give them are chance agreements between unrelated photos.

    The scan costs ~60 ms per 1,000 images per query and the approximate index ~5 ms at any
    size up to tens of thousands, with the same held-out accuracy on real photographs
    (bench/results/matching_accuracy_real_quick_approximate.md): so only a small library is
    scanned.
    """

    def __init__(self, keypoints: int = 64, ratio: float = 0.8, chunk: int = 512, *,
                 ann_from: int = 256, neighbours: int = 32, nprobe: int = 16) -> None:
        super().__init__()
        if keypoints < 1:
            raise ValueError("keypoints must be >= 1")
        self.keypoints, self.ratio, self.chunk = keypoints, ratio, chunk
        self.ann_from, self.neighbours = ann_from, neighbours
        self._desc = np.empty((0, keypoints, 4), dtype=np.uint64)
        self._ann: BinaryIVF | None = None
        self._nprobe = nprobe
        self.changes = 0  # adds and removals so far: what was searched before may differ now

    @property
    def approximate(self) -> bool:
        """True once the descriptors live in the nearest-neighbour index (no scan)."""
        return self._ann is not None

    def _grow(self, capacity: int) -> None:
        if self._ann is not None:
            return  # descriptors live in the ANN index; only ids are kept here
        grown = np.zeros((capacity, self.keypoints, 4), dtype=np.uint64)
        grown[: self._n] = self._desc[: self._n]
        self._desc = grown

    def _move(self, keep: np.ndarray) -> None:
        if self._ann is None:
            self._desc[: keep.size] = self._desc[keep]

    def _words(self, desc: np.ndarray) -> np.ndarray:
        d = np.ascontiguousarray(desc, dtype=np.uint8)
        if d.shape[-2:] != (self.keypoints, 32):
            raise ValueError(f"descriptors must be (..., {self.keypoints}, 32) uint8")
        return d.view(np.uint64)

    @_locked
    def add(self, ids: Sequence[int] | np.ndarray, descriptors: np.ndarray) -> None:
        """descriptors: (n, keypoints, 32) uint8 (zero rows = padding). Known ids are replaced."""
        id_arr = _as_ids(ids)
        words = self._words(descriptors)
        if words.shape[0] != id_arr.size:
            raise ValueError("one descriptor set per id")
        self.changes += 1
        if self._ann is not None:
            known = id_arr[np.isin(id_arr, self.ids())]
            if known.size:
                self.remove(known)
            self._append_ids(id_arr)
            self._ann.add(*_real_rows(words, id_arr))
            return
        start = self._append_ids(id_arr)
        self._desc[start : start + id_arr.size] = words
        if len(self) >= self.ann_from:
            self._to_ann()

    @_locked
    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        removed = super().remove(ids)
        self.changes += bool(removed)
        if removed and self._ann is not None:
            self._ann.remove(np.asarray(ids, dtype=np.int64).reshape(-1))
        return removed

    def _to_ann(self) -> None:
        live = np.flatnonzero(self._alive[: self._n])
        ann = BinaryIVF(nprobe=self._nprobe)
        ann.add(*_real_rows(self._desc[live], self._ids[live]))
        self._ann = ann
        self._desc = np.empty((0, self.keypoints, 4), dtype=np.uint64)

    @_locked
    def query(self, descriptors: np.ndarray, limit: int) -> list[tuple[int, int]]:
        """(id, votes) with votes > 0, most votes first then id, at most `limit`."""
        q = self._words(descriptors)
        q = q[np.any(q != 0, axis=1)]  # padding never votes
        if len(self) == 0 or q.size == 0:
            return []
        if self._ann is not None:
            return self._query_ann(q, limit)
        n = self._n
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

    def _query_ann(self, q: np.ndarray, limit: int) -> list[tuple[int, int]]:
        assert self._ann is not None
        k = self.neighbours
        dist, found = self._ann.search(q.view(np.uint8).reshape(-1, 32), k)
        dist = dist.astype(np.float64)
        # the farthest neighbour bounds every unlisted distance (a short row: nothing more)
        bound = np.where(found[:, -1] >= 0, dist[:, -1], np.inf)
        rows = np.repeat(np.arange(found.shape[0]), k)
        flat_ids, flat_d = found.reshape(-1), dist.reshape(-1)
        ok = flat_ids >= 0
        rows, flat_ids, flat_d = rows[ok], flat_ids[ok], flat_d[ok]
        # per (query row, image): rank of each neighbour within the pair (lists are sorted)
        order = np.lexsort((flat_d, flat_ids, rows))
        rows, flat_ids, flat_d = rows[order], flat_ids[order], flat_d[order]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (flat_ids[1:] != flat_ids[:-1])
        starts = np.flatnonzero(first)
        second = starts + 1
        has_second = np.zeros(starts.size, dtype=bool)
        inside = second < rows.size
        has_second[inside] = ~first[second[inside]]
        d1 = flat_d[starts]
        d2 = bound[rows[starts]].copy()
        d2[has_second] = flat_d[second[has_second]]
        passing = flat_ids[starts][d1 < self.ratio * d2]
        if passing.size == 0:
            return []
        image_ids, votes = np.unique(passing, return_counts=True)
        return _best(np.arange(image_ids.size), votes, image_ids, limit, ascending=False)

    # --- persistence (the caller writes and reads the file: app/matching/snapshot.py) -----
    def ann_index(self) -> object | None:
        """The faiss index, or None while the library is scanned exactly (small: not kept)."""
        return None if self._ann is None else self._ann.faiss_index

    @classmethod
    def from_ann(cls, index: object, keypoints: int, **options: Any) -> DescriptorIndex:
        """An index around a faiss index read back from a file (ValueError if not ours)."""
        out = cls(keypoints=keypoints, **options)
        out._ann = BinaryIVF.adopt(index, nprobe=out._nprobe)
        ids = np.unique(out._ann.held_ids())
        if ids.size:
            out._append_ids(ids)
        return out


def _real_rows(words: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten (n, k, 4) uint64 descriptor sets to (codes, owner ids), padding rows dropped."""
    flat = np.ascontiguousarray(words).reshape(-1, 4)
    owners = np.repeat(ids, words.shape[1])
    real = np.any(flat != 0, axis=1)
    return flat[real].view(np.uint8).reshape(-1, 32), owners[real]
