"""Evidence packs' own keys: made, opened, re-wrapped and destroyed here, with the images.

A takedown's evidence pack (takedowns/packfiles.py writes the file) holds display copies of
images. Each pack is sealed under a random key of its own, wrapped by the master key like an
image key (`evidence_pack`), and the images whose copies it holds are listed beside it
(`evidence_pack_image`). Erasing or withdrawing one of those images destroys the pack's key
in the same transaction (the file goes once it commits, and the key's copies in the backups'
key parts are scrubbed: app/keyscrub.py), so the pack opens for nobody, live or from a
backup. The row keeps when and why, for the takedown page. Lives in evidence, below
takedowns, so that every path that erases an image reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app import keyscrub
from app.audit.service import Actor, record
from app.evidence import crypto
from app.evidence.models import PackImage, PackKey
from app.settings import Settings
from app.txfiles import delete_when_committed

_KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class PackErased(Exception):
    """The pack's key was destroyed with an image it held; `reason` says which and why."""

    def __init__(self, pack_key: str, erased_at: datetime | None, reason: str) -> None:
        super().__init__(f"evidence pack {pack_key} was erased: {reason}")
        self.erased_at, self.reason = erased_at, reason


def pack_path(settings: Settings, pack_key: str) -> Path:
    if not _KEY_RE.match(pack_key):
        raise ValueError("invalid pack key")  # defence in depth: never a path from outside
    return settings.data_dir / "packs" / pack_key[:2] / f"{pack_key}.pack"


def new_key(session: Session, settings: Settings, pack_key: str,
            image_ids: Sequence[int]) -> bytes:
    """A fresh key for a new pack holding copies of `image_ids`, stored wrapped."""
    key = crypto.new_key()
    session.add(PackKey(pack_key=pack_key, master_key_id=settings.master_key_id,
                        wrapped_key=crypto.wrap_key(settings.master_key_bytes, key)))
    session.flush()  # the pack row before the rows that name it
    for image_id in sorted(set(image_ids)):
        session.add(PackImage(pack_key=pack_key, image_id=image_id))
    session.flush()
    return key


def key_of(session: Session, settings: Settings, pack_key: str) -> tuple[bytes, str] | None:
    """(the pack's key, the id of the master key that wraps it); None for a pack sealed the
    old way (no key of its own yet); PackErased once destroyed."""
    row = session.get(PackKey, pack_key)
    if row is None:
        return None
    if row.erased_at is not None or not row.wrapped_key:
        raise PackErased(pack_key, row.erased_at, row.erasure_reason)
    master = crypto.master_for(settings.key_ring, row.master_key_id)
    return crypto.unwrap_key(master, row.wrapped_key), row.master_key_id


def forget(session: Session, pack_key: str) -> None:
    """A pack that was never sent and is replaced (a new preview): its key rows go."""
    session.execute(delete(PackImage).where(col(PackImage.pack_key) == pack_key))
    session.execute(delete(PackKey).where(col(PackKey.pack_key) == pack_key))


def erased(session: Session, pack_keys: Sequence[str]) -> dict[str, PackKey]:
    """The erased ones among these packs, by key (for pages)."""
    if not pack_keys:
        return {}
    rows = session.exec(select(PackKey).where(col(PackKey.pack_key).in_(sorted(set(pack_keys))),
                                              col(PackKey.erased_at).is_not(None))).all()
    return {row.pack_key: row for row in rows}


def erase_packs_holding(session: Session, settings: Settings, actor: Actor, *,
                        image_ids: Sequence[int], now: datetime, why: str) -> list[str]:
    """Destroy the key of every live pack holding a copy of one of `image_ids` (conditional
    UPDATE: erased once); files go on commit, key parts are scrubbed after it. Returns them."""
    if not image_ids:
        return []
    holding = session.exec(select(PackImage.pack_key, PackImage.image_id).join(
        PackKey, col(PackKey.pack_key) == col(PackImage.pack_key)).where(
        col(PackImage.image_id).in_(sorted(set(image_ids))),
        col(PackKey.erased_at).is_(None))).all()
    by_pack: dict[str, list[int]] = {}
    for pack_key, image_id in holding:
        by_pack.setdefault(pack_key, []).append(image_id)
    done = []
    for pack_key, ids in sorted(by_pack.items()):
        reason = f"erased with image {', '.join(map(str, sorted(ids)))} ({why})"
        changed = session.execute(
            update(PackKey).where(col(PackKey.pack_key) == pack_key,
                                  col(PackKey.erased_at).is_(None))
            .values(wrapped_key=b"", erased_at=now, erasure_reason=reason[:600]))
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            done.append(pack_key)
            delete_when_committed(session, pack_path(settings, pack_key))
    if done:
        keyscrub.queue(session, settings, actor, keyscrub.PACK, [(k, None) for k in done])
        record(session, actor, "evidence.pack.erased", object_type="pack", object_ids=done,
               details={"image_ids": sorted({i for k in done for i in by_pack[k]})})
    return done
