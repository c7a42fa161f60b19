"""A backup's manifest: what it holds and the sha256 of each part, MACed with the backup key.

manifest.json is {"manifest": {...}, "mac": HMAC-SHA256 hex}; the MAC key is derived from the
backup key, so a manifest edited or written by someone without it is refused, and with the
part hashes inside it nothing of the backup can be changed, dropped or swapped unseen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.backup.stream import BackupBroken
from app.private import new_private_file

FORMAT = 1
NAME = "manifest.json"


def _mac(backup_key: bytes, body: dict[str, Any]) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cellwatch backup manifest").derive(backup_key)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def write(folder: Path, backup_key: bytes, body: dict[str, Any]) -> None:
    path = folder / NAME
    with new_private_file(path) as handle:
        handle.write(json.dumps({"manifest": body, "mac": _mac(backup_key, body)}, indent=1,
                                sort_keys=True).encode())


def read(folder: Path, backup_key: bytes) -> dict[str, Any]:
    """The manifest, once its MAC holds under this backup key."""
    path = folder / NAME
    try:
        outer = json.loads(path.read_text())
        body, mac = outer["manifest"], outer["mac"]
    except FileNotFoundError:
        raise BackupBroken(f"{folder} holds no {NAME}: not a Cellwatch backup") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupBroken(f"{NAME} is unreadable ({exc})") from None
    if not isinstance(body, dict) or not hmac.compare_digest(str(mac), _mac(backup_key, body)):
        raise BackupBroken(f"{NAME} does not verify under this backup key (altered, or "
                           "another CELLWATCH_BACKUP_KEY)")
    if body.get("format") != FORMAT:
        raise BackupBroken(f"backup format {body.get('format')} is not one this version reads")
    return body


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
