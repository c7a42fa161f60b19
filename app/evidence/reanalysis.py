"""Bringing stored local features up to the current feature version.

A blob of an older version is never misread (it scores 0 and never votes), but until it is
recomputed that image links only through its global hashes. After an upgrade that changes the
features, `cellwatch matching reanalyse` recomputes them from the sealed originals, a batch at
a time: decoding runs before the batch's write, so no write lock is held through it. Run it
with the match workers stopped: their indexes (in memory and kept on disk) hold the stale
descriptors until they start again.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app.audit.service import Actor, record
from app.db import unit_of_work
from app.errors import Unprocessable
from app.evidence.errors import StoredImageDamaged
from app.evidence.hashing import FEATURES_VERSION
from app.evidence.images import features_of, is_video_frame
from app.evidence.models import Image, ImageFeatures
from app.settings import Settings

log = logging.getLogger("cellwatch.evidence")
BATCH = 100


@dataclass
class Reanalysed:
    recomputed: int = 0
    failed: int = 0  # originals that failed their integrity check (logged, left stale)


def _held_stale(query: Select, every: bool) -> Select:
    """Features of held images whose first byte (the version) is not the current one (`every`:
    all of them, whatever their version)."""
    query = (query.join(Image, col(Image.id) == col(ImageFeatures.image_id))
             .where(col(Image.erased_at).is_(None)))
    if every:
        return query
    return query.where(func.substr(ImageFeatures.data, 1, 1) != bytes([FEATURES_VERSION]))


def _stale(session: Session, after: int, limit: int, every: bool) -> list[int]:
    return list(session.exec(
        _held_stale(select(ImageFeatures.image_id), every)
        .where(col(ImageFeatures.image_id) > after)
        .order_by(col(ImageFeatures.image_id)).limit(limit)).all())


def count_stale(session: Session, *, every: bool = False) -> int:
    return session.exec(_held_stale(select(func.count()).select_from(ImageFeatures),
                                    every)).one()


def forget_kept_index(settings: Settings) -> None:
    """A match worker's kept descriptor index (app/matching/snapshot.py) holds the stale
    descriptors: dropped, so the next worker start builds it from the recomputed ones."""
    shutil.rmtree(settings.data_dir / "index", ignore_errors=True)


def reanalyse_stale(factory: Callable[[], Session], settings: Settings, actor: Actor,
                    batch: int = BATCH, *, every: bool = False) -> Reanalysed:
    """Recompute every stale feature blob; one transaction (and one audit event) a batch.
    `every`: every held image's, of the current version too (features stored while two were
    computed at once, before each thread had its own detector, may hold wrong keypoints)."""
    done = Reanalysed()
    after = 0
    while True:
        with factory() as session:  # read and decode outside any write
            ids = _stale(session, after, batch, every)
            fresh: dict[int, bytes] = {}
            for image_id in ids:
                image = session.get(Image, image_id)
                try:
                    fresh[image_id] = features_of(settings, image,
                                                  frame=is_video_frame(session, image_id))
                except (StoredImageDamaged, Unprocessable, ValueError) as exc:  # left stale
                    log.error("features of image %s not recomputed: %s", image_id, exc)
                    done.failed += 1
        if not ids:
            if done.recomputed:
                forget_kept_index(settings)
            return done
        after = ids[-1]
        if not fresh:
            continue
        with unit_of_work(factory) as session:
            for image_id, blob in fresh.items():
                row = session.get(ImageFeatures, image_id)
                image = session.get(Image, image_id)
                if row is None or image is None or image.erased_at is not None:
                    continue  # withdrawn meanwhile: nothing to bring up to date
                row.data = blob
                session.add(row)
                done.recomputed += 1
            record(session, actor, "evidence.features.recomputed", object_type="image",
                   object_ids=sorted(fresh),
                   details={"version": FEATURES_VERSION, "every": every})
