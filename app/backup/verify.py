"""`cellwatch backup verify DEST`: check a backup without restoring it.

The manifest's MAC under the backup key, each part's sha256, every chunk's authentication,
the plain content's sha256, and the files part's entries against the manifest's counts.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import Any

from app.backup import manifest
from app.backup.service import MEMBER_RE, PART_FILES
from app.backup.stream import BackupBroken, PartReader, read_part
from app.settings import Settings


class _Hashing:
    """Reads through a PartReader, hashing what it gives (tarfile reads it all)."""

    def __init__(self, reader: PartReader) -> None:
        self.reader, self.digest = reader, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        self.digest.update(data)
        return data


def members(source: Any) -> tarfile.TarFile:
    return tarfile.open(fileobj=source, mode="r|")


def expected_parts(body: dict[str, Any]) -> set[str]:
    parts = {"database", "files"}
    if body.get("database") == "postgresql":
        parts.add("image-rows")
        if body.get("pack_rows"):  # backups of this version on: the evidence_pack table too
            parts.add("pack-rows")
        if body.get("video_rows"):  # and, once videos were backed up, the video table
            parts.add("video-rows")
    if body.get("keys") == "in the backup":
        parts.add("keys")
    return parts


def _plain(src: Path, key: bytes, name: str, want: str) -> None:
    digest = hashlib.sha256()
    for chunk in read_part(src / PART_FILES[name], key, name):
        digest.update(chunk)
    if digest.hexdigest() != want:
        raise BackupBroken(f"the {name} part does not hold what the manifest says")


def verify_backup(settings: Settings, src: Path) -> dict[str, Any]:
    """The backup's manifest, once every check holds; BackupBroken says which failed."""
    key = settings.backup_key_bytes
    body = manifest.read(src, key)
    if set(body.get("parts", {})) != expected_parts(body):
        raise BackupBroken("the manifest does not list the parts such a backup has")
    for name in body["parts"]:  # fixed file names: nothing in a manifest becomes a path
        file = PART_FILES[name]
        if not (src / file).is_file():
            raise BackupBroken(f"{file} is missing")
        if manifest.file_sha256(src / file) != body["parts"][name]["sha256"]:
            raise BackupBroken(f"{file} differs from the manifest (altered or damaged)")
    for name in body["parts"]:
        if name != "files":
            _plain(src, key, name, body["parts"][name]["plain_sha256"])
    stream = _Hashing(PartReader(src / PART_FILES["files"], key, "files"))
    originals = derivatives = packs = 0
    with members(stream) as tar:
        for member in tar:
            if not member.isfile() or not MEMBER_RE.match(member.name):
                raise BackupBroken(f"unexpected entry {member.name!r} in the files part")
            # an image's and a video's original are named alike: counted together
            originals += member.name.startswith("images/") and "." not in member.name
            derivatives += member.name.endswith((".poster", ".preview"))
            packs += member.name.startswith("packs/")
    while stream.read(1 << 20):
        pass  # the tar's end padding: part of the hashed content
    if stream.digest.hexdigest() != body["parts"]["files"]["plain_sha256"]:
        raise BackupBroken("the files part does not hold what the manifest says")
    videos = body.get("videos", 0)  # older backups hold no video
    if (originals, packs) != (body["images"] + videos, body["packs"]):
        raise BackupBroken(f"the files part holds {originals} images and videos and {packs} "
                           f"packs; the manifest says {body['images']} images, {videos} "
                           f"videos and {body['packs']} packs")
    if derivatives != body.get("video_derivatives", 0):
        raise BackupBroken(f"the files part holds {derivatives} video posters and previews; "
                           f"the manifest says {body.get('video_derivatives', 0)}")
    return body
