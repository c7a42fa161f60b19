"""Move everything sealed under an older master key to the current one, while the service runs.

Three things depend on the master key: each image's and each evidence pack's own key (wrapped,
with the wrapping key's id beside it), and TOTP secrets (sealed under keys derived from it;
readers try every configured key). Packs made before they had keys of their own are given one
by packconvert.py. Image keys are re-wrapped in batches of one
transaction each, in id order; a batch that is interrupted rolls back whole, and running
again carries on with what is still under an older id. A re-wrap is a compare-and-set on the
wrapped key, so an image erased meanwhile stays erased (its key is never written back).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import func, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.auth import factors
from app.auth.models import TotpFactor
from app.db import unit_of_work
from app.evidence import crypto
from app.evidence.models import Image, PackKey, Video
from app.settings import Settings
from app.takedowns import packfiles
from app.takedowns.models import Notice, NoticePreview


@dataclass
class Rotated:
    images: int = 0
    secrets: int = 0
    packs: int = 0


def image_key_counts(session: Session, model: Any = Image) -> dict[str, int]:
    """Held images (or videos) per master key id (erased ones have no key left to count)."""
    rows = session.exec(select(model.master_key_id, func.count())
                        .where(col(model.erased_at).is_(None))
                        .group_by(model.master_key_id)).all()
    return {key_id: count for key_id, count in rows}


def rewrap_images(factory: sessionmaker[Session], settings: Settings, actor: Actor, *,
                  batch_size: int = 500, after_batch: Callable[[int], None] | None = None,
                  model: Any = Image) -> int:
    """Re-wrap every held image key (`model=Video`: video key) not under the current master
    key; returns how many. `after_batch(done so far)` runs after each committed batch
    (progress, or a test's stop)."""
    current, master, ring = settings.master_key_id, settings.master_key_bytes, settings.key_ring
    what = "video" if model is Video else "image"
    done, after_id = 0, 0
    while True:
        with unit_of_work(factory) as session:
            rows = session.exec(
                select(model.id, model.master_key_id, model.wrapped_key)
                .where(col(model.erased_at).is_(None), model.master_key_id != current,
                       col(model.id) > after_id)
                .order_by(col(model.id)).limit(batch_size)).all()
            if not rows:
                return done
            moved, sources = [], set()
            for image_id, key_id, wrapped in rows:
                if _rewrap(session, model, col(model.id), image_id, key_id, wrapped,
                           ring=ring, master=master, current=current,
                           label=f"{what} {image_id}"):
                    moved.append(image_id or 0)
                    sources.add(key_id)
            if moved:
                record(session, actor, "evidence.keys.rewrapped", object_type=what,
                       object_ids=moved, details={"from": sorted(sources), "to": current})
            after_id = rows[-1][0] or 0
        done += len(moved)
        if after_batch is not None:
            after_batch(done)


def _rewrap(session: Session, model: Any, key_col: Any, row_key: object, key_id: str,
            wrapped: bytes, *, ring: dict[str, bytes], master: bytes, current: str,
            label: str) -> bool:
    """One row's key (an image's, a video's, a pack's) re-wrapped under the current master
    key, compare-and-set: a row erased or re-wrapped meanwhile is left as it is."""
    try:
        key = crypto.unwrap_key(crypto.master_for(ring, key_id), wrapped)
    except crypto.SealBroken as exc:
        raise crypto.SealBroken(f"{label}: {exc}") from None
    changed = session.execute(
        update(model).where(key_col == row_key, col(model.wrapped_key) == wrapped,
                            col(model.erased_at).is_(None))
        .values(wrapped_key=crypto.wrap_key(master, key), master_key_id=current))
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def reseal_secrets(factory: sessionmaker[Session], settings: Settings, actor: Actor) -> int:
    """TOTP secrets (and ones being set up) sealed under an older key, sealed again."""
    current, count = settings.master_key_id, 0
    with unit_of_work(factory) as session:
        users = []
        for row in session.exec(select(TotpFactor)).all():
            values = {}
            for field in ("secret", "pending"):
                sealed = getattr(row, field)
                if sealed:
                    plain, key_id = factors.unseal_with_id(settings, row.user_id, sealed)
                    if key_id != current:
                        values[field] = factors.seal(settings, row.user_id, plain)
            if values:  # compare-and-set: a sign-in or enrolment meanwhile keeps its own
                changed = session.execute(
                    update(TotpFactor).where(col(TotpFactor.id) == row.id,
                                             col(TotpFactor.secret) == row.secret,
                                             col(TotpFactor.pending) == row.pending)
                    .values(**values))
                if changed.rowcount:  # type: ignore[attr-defined]
                    users.append(row.user_id)
        if users:
            record(session, actor, "auth.factors.resealed", object_type="user",
                   object_ids=users, details={"to": current})
        count = len(users)
    return count


def pack_keys(session: Session) -> set[str]:
    keys = set(session.exec(select(Notice.pack_key).where(Notice.pack_key != "")).all())
    return keys | set(session.exec(select(NoticePreview.pack_key)).all())


def rewrap_packs(factory: sessionmaker[Session], settings: Settings, actor: Actor) -> int:
    """Evidence packs' own keys under an older master key, re-wrapped (compare-and-set, so a
    pack erased meanwhile stays erased); the pack files do not change."""
    current, master, ring = settings.master_key_id, settings.master_key_bytes, settings.key_ring
    with unit_of_work(factory) as session:
        rows = session.exec(select(PackKey.pack_key, PackKey.master_key_id, PackKey.wrapped_key)
                            .where(col(PackKey.erased_at).is_(None),
                                   PackKey.master_key_id != current)).all()
        moved, sources = [], set()
        for pack_key, key_id, wrapped in rows:
            if _rewrap(session, PackKey, col(PackKey.pack_key), pack_key, key_id, wrapped,
                       ring=ring, master=master, current=current,
                       label=f"evidence pack {pack_key}"):
                moved.append(pack_key)
                sources.add(key_id)
        if moved:
            record(session, actor, "takedowns.packs.rewrapped", object_type="pack",
                   object_ids=moved, details={"from": sorted(sources), "to": current})
    return len(moved)


def pack_key_counts(session: Session, settings: Settings) -> Counter[str]:
    """Packs that notices refer to, by the master key id their own key is wrapped under
    (packfiles.LEGACY: not converted yet); erased ones are not counted."""
    counts: Counter[str] = Counter()
    for pack_key in pack_keys(session):
        try:
            counts[packfiles.read_with_id(session, settings, pack_key)[1]] += 1
        except packfiles.PackErased:
            continue
        except packfiles.PackMissing:
            counts["(missing or no configured key)"] += 1
    return counts


def secret_key_counts(session: Session, settings: Settings) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in session.exec(select(TotpFactor)).all():
        for sealed in (row.secret, row.pending):
            if sealed:
                try:
                    counts[factors.unseal_with_id(settings, row.user_id, sealed)[1]] += 1
                except (InvalidTag, ValueError):  # counted: status reports, never stops
                    counts["(no configured key)"] += 1
    return counts
