"""Remove image files that no live row names, left by a process killed between write and commit.

A file is removed as soon as no transaction can still claim it (app/evidence/claims.py), not
after an age margin: its writer's claim is gone, so its row can no longer be committed. Two
units of work: the first lists the candidates without holding anything; the second claims
them and looks again, so a writer that committed in between keeps its file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from app.db import unit_of_work
from app.evidence import claims
from app.evidence.models import Image, Video
from app.evidence.storage import TEMP_PREFIX, images_root, key_of
from app.settings import Settings

log = logging.getLogger("cellwatch")
# A temp file named the way versions before claims named them holds no key, so no claim can
# be checked: it goes when it is this old, as before.
KEYLESS_TEMP_AGE = timedelta(hours=1)
_CHUNK = 500  # keys per IN (...) query


@dataclass
class Sweep:
    removed: list[Path] = field(default_factory=list)
    in_flight: int = 0  # files kept: a live transaction still claims them
    deferred: bool = False  # SQLite: writers kept the write lock; the next sweep decides

    def summary(self) -> str:
        text = f"{len(self.removed)} orphan files removed"
        if self.deferred:
            return text + "; writers were busy, the next run looks again"
        return text + (f", {self.in_flight} kept for uploads in progress"
                       if self.in_flight else "")


def _named(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of `keys` that an image or a video not erased names."""
    keys, found = sorted(set(keys)), set()
    for start in range(0, len(keys), _CHUNK):
        for model in (Image, Video):  # a video's original, poster and preview share its key
            found |= set(session.exec(select(model.storage_key).where(
                col(model.storage_key).in_(keys[start:start + _CHUNK]),
                col(model.erased_at).is_(None))).all())
    return found


def _keyless_and_old(path: Path) -> bool:
    return (path.name.startswith(TEMP_PREFIX)
            and path.stat().st_mtime < time.time() - KEYLESS_TEMP_AGE.total_seconds())


def sweep_orphans(factory: Callable[[], Session], settings: Settings, *,
                  wait_seconds: float = 5.0) -> Sweep:
    """Delete every file of the images folder that no image names and no transaction
    claims; temp files whenever their writer is gone. `wait_seconds`: how long SQLite may
    wait for the write lock before leaving the decision to the next sweep."""
    root, result = images_root(settings), Sweep()
    if not root.is_dir():
        return result
    files = [p for p in root.glob("*/*") if p.is_file()]
    keyed = {p: key for p in files if (key := key_of(p.name)) is not None}
    for path in files:
        if path not in keyed and _keyless_and_old(path):
            path.unlink(missing_ok=True)
            result.removed.append(path)
    with unit_of_work(factory) as session:
        named = _named(session, keyed.values())
    candidates = {p: k for p, k in keyed.items()
                  if p.name.startswith(TEMP_PREFIX) or k not in named}
    keys = sorted(set(candidates.values()))
    # in batches: each claim held is a lock-table entry until its unit of work ends
    for start in range(0, len(keys), _CHUNK):
        batch = set(keys[start:start + _CHUNK])
        if not _decide(factory, {p: k for p, k in candidates.items() if k in batch}, result,
                       wait_seconds):
            break
    if result.removed:
        log.info("sweep removed %d orphan image files", len(result.removed))
    return result


def _decide(factory: Callable[[], Session], candidates: dict[Path, str], result: Sweep,
            wait_seconds: float) -> bool:
    """Claim the candidates' keys, look again, remove the orphans; False when SQLite's
    writers kept the write lock (the rest waits for the next sweep)."""
    with unit_of_work(factory) as session:
        free = claims.unclaimed(session, sorted(set(candidates.values())),
                                wait_seconds=wait_seconds)
        if free is None:
            result.deferred = True
            return False
        named = _named(session, free)  # after the claims: a writer that committed meanwhile
        for path, key in candidates.items():
            if key not in free:
                result.in_flight += 1
            elif path.name.startswith(TEMP_PREFIX) or key not in named:
                path.unlink(missing_ok=True)
                result.removed.append(path)
    return True
