"""The match worker's descriptor index kept on disk, so a restart loads it instead of reading
every reference photo's features again (minutes at national scale).

Two files under CELLWATCH_DATA_DIR/index (0600, written to a temporary name and renamed, so a
reader sees an old file or a whole new one): faiss's own file of the index, and a JSON note
with its SHA-256, the descriptor layout it was built with, and a few probes (image id ->
digest of that image's prefilter descriptors). The file holds hashes of descriptors only, no
image and no personal data. A file that fails any check is not used: the index is rebuilt.
What it contains is never trusted to be current either: after loading, the engine compares it
with the reference photos in the database and adds or drops the difference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from app.matching.index import DescriptorIndex

log = logging.getLogger("cellwatch.matching")
FORMAT = 1
INDEX_FILE, NOTE_FILE = "descriptors.faiss", "descriptors.json"


def probe_digest(descriptors: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(descriptors, dtype=np.uint8).tobytes()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _private(path: Path) -> None:
    """Create (or truncate) `path` readable and writable by its owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def save(folder: Path, votes: DescriptorIndex, layout: dict[str, Any],
         probes: dict[int, str]) -> bool:
    """Write the index (if it is an approximate one); False if there is nothing to keep."""
    index = votes.ann_index()
    if index is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    tmp_index = folder / f".{INDEX_FILE}.{os.getpid()}.tmp"  # one per writing process
    tmp_note = folder / f".{NOTE_FILE}.{os.getpid()}.tmp"
    _private(tmp_index)
    faiss.write_index_binary(index, str(tmp_index))
    note = {"format": FORMAT, "sha256": _sha256(tmp_index), "layout": layout,
            "images": len(votes), "probes": {str(k): v for k, v in probes.items()}}
    _private(tmp_note)
    tmp_note.write_text(json.dumps(note))
    for tmp in (tmp_index, tmp_note):
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp_index, folder / INDEX_FILE)  # the note last: it vouches for the index
    os.replace(tmp_note, folder / NOTE_FILE)
    return True


def load(folder: Path, layout: dict[str, Any]) -> tuple[DescriptorIndex, dict[int, str]] | None:
    """The kept index and its probes, or None (missing, altered, built another way)."""
    index_path, note_path = folder / INDEX_FILE, folder / NOTE_FILE
    if not index_path.exists() or not note_path.exists():
        return None
    try:
        note = json.loads(note_path.read_text())
        if note.get("format") != FORMAT or note.get("layout") != layout:
            log.info("descriptor index file built another way: rebuilding")
            return None
        if _sha256(index_path) != note.get("sha256"):
            log.warning("descriptor index file does not match its checksum: rebuilding")
            return None
        votes = DescriptorIndex.from_ann(faiss.read_index_binary(str(index_path)),
                                         int(layout["keypoints"]))
        if len(votes) != note.get("images"):
            log.warning("descriptor index file holds other images than noted: rebuilding")
            return None
        return votes, {int(k): str(v) for k, v in note.get("probes", {}).items()}
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        log.warning("descriptor index file unreadable: rebuilding", exc_info=True)
        return None
