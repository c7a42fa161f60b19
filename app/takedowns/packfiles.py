"""Evidence packs on disk: sealed like images, and kept only if their transaction commits.

Layout: <data_dir>/packs/<first 2 hex>/<pack_key>.pack, names made here (never from a client).
Each pack is AES-256-GCM sealed under a key derived (HKDF-SHA256) from the master key and the
pack's own storage key, so no per-pack key column is needed; the Notice keeps the storage key
and the sha256 of the plain zip (what the platform receives, so either side can check it).
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session as OrmSession

from app.evidence import crypto, storage
from app.settings import Settings
from app.txfiles import keep_if_committed

_KEY_RE = re.compile(r"^[0-9a-f]{32}$")
_KIND = "evidence-pack"


class PackMissing(Exception):
    """The pack file is gone or does not open under the master key."""


def path_for(settings: Settings, pack_key: str) -> Path:
    if not _KEY_RE.match(pack_key):
        raise ValueError("invalid pack key")  # defence in depth: never a path from outside
    return settings.data_dir / "packs" / pack_key[:2] / f"{pack_key}.pack"


def _key(master: bytes, pack_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=crypto.KEY_BYTES, salt=None,
                info=f"cellwatch evidence pack {pack_key}".encode()).derive(master)


def store(session: OrmSession, settings: Settings, data: bytes) -> str:
    """Seal and write a pack; returns its storage key. Deleted again if not committed."""
    pack_key = storage.new_storage_key()
    path = path_for(settings, pack_key)
    keep_if_committed(session, path)
    storage.write_atomic(path, seal(settings, pack_key, data))
    return pack_key


def seal(settings: Settings, pack_key: str, data: bytes) -> bytes:
    return crypto.seal(_key(settings.master_key_bytes, pack_key), data, storage_key=pack_key,
                       kind=_KIND)


def read_with_id(settings: Settings, pack_key: str) -> tuple[bytes, str]:
    """(plain pack, id of the master key it is sealed under): the current key first, then
    older ones still listed while `cellwatch keys rotate` re-seals packs under the current."""
    try:
        blob = path_for(settings, pack_key).read_bytes()
    except (OSError, ValueError) as exc:
        raise PackMissing(f"evidence pack {pack_key} cannot be opened: {exc}") from None
    for key_id, master in settings.key_ring.items():
        try:
            return crypto.unseal(_key(master, pack_key), blob, storage_key=pack_key,
                                 kind=_KIND), key_id
        except crypto.SealBroken:
            continue
    raise PackMissing(f"evidence pack {pack_key} cannot be opened under any configured "
                      "master key")


def read(settings: Settings, pack_key: str) -> bytes:
    return read_with_id(settings, pack_key)[0]
