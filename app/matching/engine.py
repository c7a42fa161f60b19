"""The per-process match index: built from committed rows, kept current by cheap reads.

Before each query the index takes in what was committed since its last look, by indexed reads
of the rows themselves: ids in a window below the highest seen (new rows, and late commits of
lower ids), erasures and removals by their time. No writer updates a shared counter, so no
writer ever waits on another for the index's sake, and several workers and hosts on one
database stay consistent without talking to each other. The reads go through the engine's own
sessions, never the request's: a row that is rolled back never enters the index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, Select
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.db import make_session_factory, utcnow
from app.evidence.hashing import FEATURES_VERSION, PREFILTER_KEYPOINTS, prefilter_descriptors
from app.evidence.models import Image, ImageFeatures, ReferencePhoto
from app.matching import snapshot, thresholds
from app.matching.index import DescriptorIndex, HammingIndex
from app.matching.shortlists import KeptShortlists
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
# Ids are handed out before commit, so a transaction with a lower id can commit after one
# with a higher id; re-reading a window below the highest id seen catches those late rows.
_LATE_ID_WINDOW = 1000
_CLOCK_MARGIN = timedelta(minutes=5)
_BATCH = 50_000
_IN_BATCH = 10_000  # ids per IN list: within SQLite's and PostgreSQL's parameter limits
_FEATURE_BATCH = 2_000  # feature blobs per query (~36 MB), not the whole library at once


_IMAGE = Image.__table__  # type: ignore[attr-defined]
_REFERENCE = ReferencePhoto.__table__  # type: ignore[attr-defined]


def _core(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """Rows of a plain column read, without the ORM's per-row work: the reads made before
    every query (a window of ids) cost a third of the ORM's time this way."""
    return [tuple(row) for row in session.connection().execute(statement)]


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class Limits:
    """The thresholds in force (from settings; defaults measured in bench/)."""

    global_max_distance: int = thresholds.GLOBAL_MAX_DISTANCE
    verify_min_score: int = thresholds.VERIFY_MIN_SCORE
    shortlist_global: int = thresholds.SHORTLIST_GLOBAL
    shortlist_votes: int = thresholds.SHORTLIST_VOTES
    second_look_from: int = thresholds.SECOND_LOOK_FROM
    second_look_max: int = thresholds.SECOND_LOOK_MAX

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(global_max_distance=settings.match_global_max_distance,
                   verify_min_score=settings.match_verify_min_score,
                   shortlist_global=settings.match_shortlist_global,
                   shortlist_votes=settings.match_shortlist_votes,
                   second_look_from=settings.match_second_look_from,
                   second_look_max=settings.match_second_look_max)


UNRANKED = 1 << 30  # a hit the descriptor votes did not name (the global hashes did)


@dataclass(frozen=True)
class Hit:
    image_id: int
    distance: int  # global Hamming distance (min over the compared hash kinds)
    mirrored: bool = False  # voted for by the photo's mirror image: verify that side too
    vote_rank: int = UNRANKED  # its place in the descriptor votes (either orientation), from 0


class MatchEngine:
    """Near-duplicate search over every held image; descriptor votes over reference photos.

    The vote index holds only the cell library: "another photo of the same cell" is what it
    finds, and a library is far smaller than the evidence held, so memory stays bounded.
    `descriptors=False` (web processes, whose second stages run in match workers): global
    hashes only, no vote index at all, no feature blob ever read.
    `keep` (match workers): a folder where the descriptor index is kept between runs
    (app/matching/snapshot.py); it is loaded at the first sync, checked, and brought up to
    date against the database, and written again once enough has changed.
    """

    def __init__(self, limits: Limits | None = None,
                 sessions: Callable[[], Session] | None = None, db: Engine | None = None,
                 *, descriptors: bool = True, keep: Path | None = None) -> None:
        self.limits = limits or Limits()
        # Committed rows only: sessions of the index's own (`db`: an engine just for it, so an
        # index read never waits for a connection that requests hold), else the caller's.
        self._db = db
        self._sessions = make_session_factory(db) if db is not None else sessions
        self._lock = threading.RLock()
        self.hashes = HammingIndex(columns=3)  # phash, phash_mirror, phash_trim
        self.votes = DescriptorIndex(keypoints=PREFILTER_KEYPOINTS) if descriptors else None
        self._max_image_id = 0
        self._max_reference_id = 0
        self._recent = np.zeros(0, dtype=np.int64)  # held image ids of the late-id window
        self._recent_refs: set[int] = set()  # reference photo ids of the window, taken in
        self._erasures: dict[int, datetime] = {}  # erasures already applied (id -> when)
        self._removals: set[int] = set()  # reference photo removals already applied
        self._synced_at: datetime | None = None
        self._own_sync_began = float("-inf")  # monotonic start of the last own-session sync
        self._keep = keep if descriptors else None
        self._unkept = 0  # feature blobs read since the kept file was written (or loaded)
        self._kept_at_start = False
        self.blobs_read = 0  # feature blobs read from the database by this engine, in all
        self.kept = KeptShortlists[Hit]()  # each image's last short list (kept_shortlist)
        self.near = KeptShortlists[int]()  # a frame's nearly linked photos (kept_near)

    # --- keeping current -------------------------------------------------------------
    def sync(self, session: Session) -> None:
        """Take in what `session` sees committed since the last look."""
        with self._lock:
            started = utcnow()
            self._load_images(session)
            if self._synced_at is None and self._keep is not None:
                self._restore(session)
            self._load_references(session)
            self._synced_at = started
            self._keep_if_due(session)

    def refresh(self, caller: Session | None) -> None:
        """Bring the index up to date before a query, from the index's own sessions."""
        if self._sessions is None:
            if caller is None:
                raise ValueError("a match index without sessions of its own needs the caller's")
            self.sync(caller)
            return
        asked = time.monotonic()
        with self._lock:
            # A sync of our own that began after this caller asked saw every row committed
            # before it asked: in a burst, the requests queued on the lock share one sync.
            if self._own_sync_began >= asked:
                return
            began = time.monotonic()
            with self._sessions() as own:
                self.sync(own)
            self._own_sync_began = began

    def _load_images(self, session: Session) -> None:
        if self._synced_at is None:
            self._load_all_images(session)
        else:
            self._load_new_images(session)
        # erasures by their time; each one applied once (a full pass over the index costs)
        erased = {} if self._synced_at is None else dict(_core(session, core_select(
            _IMAGE.c.id, _IMAGE.c.erased_at).where(
                _IMAGE.c.erased_at >= self._synced_at - _CLOCK_MARGIN)))
        fresh = [i for i, at in erased.items() if self._erasures.get(i) != at]
        if fresh:
            self.hashes.remove(fresh)
            if self.votes is not None:
                self.votes.remove(fresh)
            self._recent = self._recent[~np.isin(self._recent, fresh)]
        self._erasures = erased

    def _load_all_images(self, session: Session) -> None:
        floor = 0
        while True:
            rows = session.exec(
                select(Image.id, Image.phash, Image.phash_mirror, Image.phash_trim)
                .where(col(Image.id) > floor, col(Image.erased_at).is_(None))
                .order_by(col(Image.id)).limit(_BATCH)
            ).all()
            if not rows:
                break
            arr = np.array([tuple(r) for r in rows], dtype=np.int64)  # 10x faster than Rows
            self.hashes.add(arr[:, 0], arr[:, 1:])
            floor = int(arr[-1, 0])
            self._max_image_id = max(self._max_image_id, floor)
        ids = self.hashes.ids()
        self._recent = np.sort(ids[ids > self._max_image_id - _LATE_ID_WINDOW])

    def _load_new_images(self, session: Session) -> None:
        """Ids only over the late-id window (an index-only read), hashes for the new ones."""
        floor = max(0, self._max_image_id - _LATE_ID_WINDOW)
        ids = np.array(_core(session, core_select(_IMAGE.c.id).where(
            _IMAGE.c.id > floor, _IMAGE.c.erased_at.is_(None))), dtype=np.int64).reshape(-1)
        held = self._recent[self._recent > floor]
        new = ids[~np.isin(ids, held)]
        if new.size:
            rows = session.exec(
                select(Image.id, Image.phash, Image.phash_mirror, Image.phash_trim)
                .where(col(Image.id).in_(new.tolist()))).all()
            if rows:
                arr = np.array([tuple(r) for r in rows], dtype=np.int64)
                self.hashes.add(arr[:, 0], arr[:, 1:])
                held = np.union1d(held, arr[:, 0])
        self._recent = held
        if ids.size:
            self._max_image_id = max(self._max_image_id, int(ids.max()))

    def _load_references(self, session: Session) -> None:
        if self.votes is None:
            return
        votes = self.votes
        first = self._synced_at is None
        floor = 0 if first else max(0, self._max_reference_id - _LATE_ID_WINDOW)
        rows = _core(session, core_select(_REFERENCE.c.id, _REFERENCE.c.image_id)
                     .where(_REFERENCE.c.id > floor, _REFERENCE.c.removed_at.is_(None)))
        # rows of the late-id window seen before need no second look (removals come through
        # `gone`, erasures through _load_images): only new ones count
        added = [(i, image_id) for i, image_id in rows if i not in self._recent_refs]
        if added:
            self._max_reference_id = max(self._max_reference_id, max(i for i, _ in added))
        floor = max(0, self._max_reference_id - _LATE_ID_WINDOW)
        self._recent_refs = {i for i, _ in rows if i > floor}
        touched = {image_id for _, image_id in added}
        if not first and self._synced_at is not None:
            gone = dict(_core(session, core_select(_REFERENCE.c.id, _REFERENCE.c.image_id).where(
                _REFERENCE.c.removed_at >= self._synced_at - _CLOCK_MARGIN)))
            touched |= {image_id for i, image_id in gone.items() if i not in self._removals}
            self._removals = set(gone)
        if not touched:
            return
        current = (select(ReferencePhoto.image_id)
                   .join(Image, col(Image.id) == col(ReferencePhoto.image_id))
                   .where(col(ReferencePhoto.removed_at).is_(None),
                          col(Image.erased_at).is_(None)))
        if first:  # the whole library: no id list (PostgreSQL takes at most 65,535 parameters)
            active = set(session.exec(current).all()) & touched
        else:
            active = set()
            for chunk in _chunks(sorted(touched), _IN_BATCH):
                active |= set(session.exec(
                    current.where(col(ReferencePhoto.image_id).in_(chunk))).all())
        votes.remove(list(touched - active))
        if first:  # a loaded file may hold photos removed since it was written
            votes.remove(list(set(votes.ids().tolist()) - active))
        wanted = np.array(sorted(active), dtype=np.int64)
        missing = wanted[~np.isin(wanted, votes.ids())].tolist()
        self._unkept += len(missing)
        self.blobs_read += len(missing)
        # a few thousand ~18 KB blobs at a time, so a first build never holds them all
        for chunk in _chunks(missing, _FEATURE_BATCH):
            blobs = session.exec(select(ImageFeatures.image_id, ImageFeatures.data)
                                 .where(col(ImageFeatures.image_id).in_(chunk))).all()
            if blobs:
                votes.add([i for i, _ in blobs],
                          np.stack([prefilter_descriptors(b) for _, b in blobs]))

    # --- the kept descriptor index ------------------------------------------------------
    _LAYOUT = {"keypoints": PREFILTER_KEYPOINTS, "index": "faiss-binary-ivf",
               "features": FEATURES_VERSION}
    _PROBES = 5

    def _probes(self, session: Session, ids: list[int]) -> dict[int, str]:
        """Digest of each image's prefilter descriptors as computed now (blobs read here)."""
        rows = session.exec(select(ImageFeatures.image_id, ImageFeatures.data)
                            .where(col(ImageFeatures.image_id).in_(ids))).all()
        return {i: snapshot.probe_digest(prefilter_descriptors(b)) for i, b in rows}

    def _restore(self, session: Session) -> None:
        assert self._keep is not None
        kept = snapshot.load(self._keep, self._LAYOUT)
        if kept is None:
            return
        votes, probes = kept
        now = self._probes(session, list(probes))
        # the descriptors of a few photos, chosen as today: a change in how they are chosen
        # (or a file from another library) shows here, and the file is not used
        if not now or any(now[i] != probes[i] for i in now):
            log.warning("kept descriptor index does not fit this library: rebuilding")
            return
        self.votes, self._kept_at_start = votes, True

    def _keep_if_due(self, session: Session) -> None:
        if self._keep is None or self.votes is None or self.votes.ann_index() is None:
            return
        if self._kept_at_start and self._unkept < max(1000, len(self.votes) // 50):
            return
        ids = np.sort(self.votes.ids())
        chosen = np.unique(ids[np.linspace(0, ids.size - 1, self._PROBES).astype(np.int64)])
        try:
            snapshot.save(self._keep, self.votes, self._LAYOUT,
                          self._probes(session, chosen.tolist()))
        except OSError:
            log.warning("could not keep the descriptor index", exc_info=True)
            return
        self._unkept, self._kept_at_start = 0, True

    # --- searching -------------------------------------------------------------------
    @staticmethod
    def _query_values(image: Image) -> list[int]:
        # stored columns are (phash, phash_mirror, phash_trim): compare the new photo's phash
        # with both orientations, and its border-trimmed hash with the trimmed ones
        return [image.phash, image.phash, image.phash_trim]

    def near_duplicates(self, session: Session, image: Image, *, refresh: bool = True,
                        batch: HammingIndex | None = None) -> list[Hit]:
        """Stage one: global-hash neighbours within the measured threshold (fast, exact).
        `refresh=False`: the caller brought the index up to date for a whole submission;
        `batch`: that submission's earlier images (uncommitted, so not in the index)."""
        if refresh:
            self.refresh(session)
        values = self._query_values(image)
        found = self.hashes.query(values, self.limits.global_max_distance)
        if batch is not None and len(batch):
            found += batch.query(values, self.limits.global_max_distance)
        return [Hit(i, d) for i, d in found if i != image.id]

    @staticmethod
    def batch_index() -> HammingIndex:
        """An index of one submission's own images, to link them to each other."""
        return HammingIndex(columns=3)

    @staticmethod
    def hold(batch: HammingIndex, image: Image) -> None:
        batch.add([image.id or 0], [[image.phash, image.phash_mirror, image.phash_trim]])

    def shortlist(self, session: Session, image: Image, features: bytes) -> list[Hit]:
        """Stage two's candidates: nearest global hashes plus most descriptor votes (of the
        photo and of its mirror image)."""
        if self.votes is None:
            raise RuntimeError("this match index holds no descriptors (a web process's): "
                               "second stages run in match workers")
        self.refresh(session)
        nearest = self.hashes.query(self._query_values(image), 64,
                                    limit=self.limits.shortlist_global + 1)
        hits = {i: d for i, d in nearest if i != image.id}
        # most votes for the photo, and for its mirror image (a front-camera selfie); only
        # the candidates its mirror image voted for are verified mirrored (it costs a second
        # verification of every pair)
        mirror_voted: set[int] = set()
        ranks: dict[int, int] = {}
        for mirrored in (False, True):
            voted = self.votes.query(prefilter_descriptors(features, mirrored=mirrored),
                                     limit=self.limits.shortlist_votes + 1)
            for rank, (image_id, _votes) in enumerate(voted):
                if image_id != image.id:
                    hits.setdefault(image_id, 64)
                    ranks[image_id] = min(rank, ranks.get(image_id, rank))
                    if mirrored:
                        mirror_voted.add(image_id)
        out = [Hit(i, d, i in mirror_voted, ranks.get(i, UNRANKED)) for i, d in hits.items()]
        if image.id is not None:
            self.kept.put(image.id, self._kept_key(image, features), out)
        return out

    def kept_shortlist(self, session: Session, image: Image, features: bytes) -> list[Hit]:
        """The image's short list as its second stage computed it in this process, while the
        reference library has not changed since (app/matching/shortlists.py); else computed."""
        if self.votes is not None and image.id is not None:
            self.refresh(session)  # a reference photo added or removed since drops the list
            kept = self.kept.get(image.id, self._kept_key(image, features))
            if kept is not None:
                return kept
        return self.shortlist(session, image, features)

    def keep_near(self, image: Image, features: bytes, ids: list[int]) -> None:
        """Keep what a frame's own second stage nearly linked (clip_look.near_ids), for its
        clip pass (under the same key as its short list: kept while that is)."""
        if self.votes is not None and image.id is not None:
            self.near.put(image.id, self._kept_key(image, features), ids)

    def kept_near(self, session: Session, image: Image, features: bytes, *,
                  refresh: bool = True) -> list[int] | None:
        """What `keep_near` kept for the image in this process, or None (another process
        ran its second stage, or the library changed since: the caller verifies again).
        `refresh=False`: the caller has just brought the index up to date."""
        if self.votes is None or image.id is None:
            return None
        if refresh:
            self.refresh(session)
        return self.near.get(image.id, self._kept_key(image, features))

    def _kept_key(self, image: Image, features: bytes) -> tuple[object, ...]:
        assert self.votes is not None
        return (id(self.votes), self.votes.changes, image.phash, image.phash_mirror,
                image.phash_trim, hash(features))

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    def size(self) -> tuple[int, int]:
        return len(self.hashes), 0 if self.votes is None else len(self.votes)

