"""Evidence packs on disk: sealed like images, and kept only if their transaction commits.

Layout: <data_dir>/packs/<first 2 hex>/<pack_key>.pack, names made here (never from a client).
Each pack is AES-256-GCM sealed under a random key of its own, wrapped by the master key
(evidence/packkeys.py, which destroys it when an image the pack holds is erased). The Notice
keeps the pack's key and the sha256 of the plain zip (what the platform receives, so either
side can check it).

Packs made before per-pack keys were sealed under a key derived (HKDF-SHA256) from the master
key and the pack's name: they still open, and `convert_legacy` (run by `cellwatch keys
rotate` and `make run`) gives each its own key and seals it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlmodel import Session

from app.evidence import crypto, packkeys, storage
from app.settings import Settings
from app.txfiles import keep_if_committed

_KIND = "evidence-pack"
LEGACY = "(no key of its own yet)"  # the key id reported for a pack sealed the old way


class PackMissing(Exception):
    """The pack file is gone or does not open."""


class PackErased(PackMissing):
    """The pack's key was destroyed with an image it held (reason: which, and why)."""

    def __init__(self, erased: packkeys.PackErased) -> None:
        super().__init__(str(erased))
        self.erased_at, self.reason = erased.erased_at, erased.reason


def path_for(settings: Settings, pack_key: str) -> Path:
    return packkeys.pack_path(settings, pack_key)


def legacy_key(master: bytes, pack_key: str) -> bytes:
    """The key a pack made before per-pack keys is sealed under."""
    return HKDF(algorithm=hashes.SHA256(), length=crypto.KEY_BYTES, salt=None,
                info=f"cellwatch evidence pack {pack_key}".encode()).derive(master)


def seal(key: bytes, pack_key: str, data: bytes) -> bytes:
    return crypto.seal(key, data, storage_key=pack_key, kind=_KIND)


def store(session: Session, settings: Settings, data: bytes, image_ids: Sequence[int]) -> str:
    """Seal a pack holding copies of `image_ids` under a new key of its own and write it;
    returns its storage key. Deleted again if not committed."""
    pack_key = storage.new_storage_key()
    key = packkeys.new_key(session, settings, pack_key, image_ids)
    path = path_for(settings, pack_key)
    keep_if_committed(session, path)
    storage.write_atomic(path, seal(key, pack_key, data))
    return pack_key


def _legacy(settings: Settings, pack_key: str, blob: bytes) -> tuple[bytes, str] | None:
    for key_id, master in settings.key_ring.items():
        try:
            return crypto.unseal(legacy_key(master, pack_key), blob, storage_key=pack_key,
                                 kind=_KIND), key_id
        except crypto.SealBroken:
            continue
    return None


def read_with_id(session: Session, settings: Settings, pack_key: str) -> tuple[bytes, str]:
    """(plain pack, the id of the master key its own key is wrapped under, or LEGACY for a
    pack not converted yet). PackErased once its key is destroyed; PackMissing otherwise."""
    try:
        own = packkeys.key_of(session, settings, pack_key)
    except packkeys.PackErased as exc:
        raise PackErased(exc) from None
    except crypto.SealBroken as exc:
        raise PackMissing(f"evidence pack {pack_key}: {exc}") from None
    try:
        blob = path_for(settings, pack_key).read_bytes()
    except (OSError, ValueError) as exc:
        raise PackMissing(f"evidence pack {pack_key} cannot be opened: {exc}") from None
    if own is not None:
        try:
            return crypto.unseal(own[0], blob, storage_key=pack_key, kind=_KIND), own[1]
        except crypto.SealBroken:
            pass  # given its key, not sealed again yet (a conversion was interrupted)
    old = _legacy(settings, pack_key, blob)
    if old is None:
        raise PackMissing(f"evidence pack {pack_key} cannot be opened under any configured "
                          "master key")
    return old[0], LEGACY


def read(session: Session, settings: Settings, pack_key: str) -> bytes:
    return read_with_id(session, settings, pack_key)[0]
