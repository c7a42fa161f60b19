"""Which container a file is, from its magic bytes alone; names and declared types only ever
get a file refused (when they claim something else), never accepted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from app.video.animation import Damaged, gif_facts, webp_chunks
from app.video.refusal import Refusal

Kind = Literal["video", "animation", "still"]

# ISO base media brands of video files (the major brand at bytes 8-12). HEIF stills (heic,
# mif1, ...) share the box structure and are not video.
_QUICKTIME = {b"qt  "}
_MP4 = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
        b"M4VP", b"M4VH", b"MSNV", b"dash", b"mmp4", b"3gp4", b"3gp5", b"3gp6", b"3g2a",
        b"3g2b", b"XAVC", b"av01"}

NAMES = {"mp4": "an MP4 video", "mov": "a QuickTime (MOV) video", "webm": "a WebM video",
         "matroska": "a Matroska (MKV) video", "gif": "a GIF", "webp": "a WebP image"}
# What a file name or a declared content type claims; MP4 and MOV are one family (the same
# boxes; phones name either way).
_FAMILY = {"mp4": "iso", "mov": "iso", "webm": "webm", "matroska": "matroska", "gif": "gif",
           "webp": "webp"}
_EXTENSIONS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".qt": "mov", ".webm": "webm",
               ".mkv": "matroska", ".gif": "gif", ".webp": "webp", ".3gp": "mp4"}
_TYPES = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm",
          "video/x-matroska": "matroska", "video/matroska": "matroska", "image/gif": "gif",
          "image/webp": "webp", "video/3gpp": "mp4"}


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    container: str  # mp4 | mov | webm | matroska | gif | webp


def sniff(data: bytes) -> Sniffed | None:
    """The container these bytes start with, or None when they are none we know."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _QUICKTIME:
            return Sniffed("video", "mov")
        if brand in _MP4:
            return Sniffed("video", "mp4")
        return None
    if data[:4] == b"\x1a\x45\xdf\xa3":
        doctype = _ebml_doctype(data)
        if doctype in ("webm", "matroska"):
            return Sniffed("video", doctype)
        return None
    if data[:6] in (b"GIF87a", b"GIF89a"):
        try:
            frames = gif_facts(data, stop_after=1).frames
        except Damaged:
            frames = 2  # damaged after the first frame: probe says what is wrong
        return Sniffed("animation" if frames > 1 else "still", "gif")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        try:
            animated = any(fourcc == b"ANIM" for fourcc, _, _ in webp_chunks(data))
        except Damaged:
            return None
        return Sniffed("animation" if animated else "still", "webp")
    return None


def _vint(data: bytes, i: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at i: (value, next offset)."""
    if i >= len(data) or data[i] == 0:
        raise ValueError("bad EBML number")
    length = 8 - data[i].bit_length() + 1
    if i + length > len(data):
        raise ValueError("truncated EBML number")
    value = data[i] if keep_marker else data[i] & (0xFF >> length)
    for b in data[i + 1:i + length]:
        value = (value << 8) | b
    return value, i + length


def _ebml_doctype(data: bytes) -> str | None:
    """The DocType string inside the EBML header ("webm" or "matroska")."""
    try:
        _, i = _vint(data, 0, keep_marker=True)
        size, i = _vint(data, i, keep_marker=False)
        end = min(i + size, len(data))
        while i < end:
            element, i = _vint(data, i, keep_marker=True)
            length, i = _vint(data, i, keep_marker=False)
            if element == 0x4282:
                return data[i:i + length].rstrip(b"\x00").decode("ascii", "replace")
            i += length
    except ValueError:
        return None
    return None


def claimed(filename: str, content_type: str | None) -> list[tuple[str, str]]:
    """(what claims it, container claimed) for the name's extension and the declared type."""
    out = []
    ext = PurePosixPath(filename.lower()).suffix
    if ext in _EXTENSIONS:
        out.append((f"named {ext}", _EXTENSIONS[ext]))
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in _TYPES:
        out.append((f"declared as {declared}", _TYPES[declared]))
    return out


def identify(data: bytes, filename: str, content_type: str | None = None) -> Sniffed:
    """The sniffed container, refusing bytes we do not know and files whose name or declared
    type claims another container (an MKV named .mp4 is refused, not "fixed")."""
    found = sniff(data)
    if found is None or found.kind == "still":
        what = "a still image (send it as a photo)" if found else "not a video we recognise"
        raise Refusal(f"“{filename}” is {what}: videos are taken as MP4, MOV or WebM, "
                           "animations as GIF or WebP.", reason="type")
    for source, container in claimed(filename, content_type):
        if _FAMILY[container] != _FAMILY[found.container]:
            raise Refusal(
                f"“{filename}” is {source}, as {NAMES[container]}, but it is "
                f"{NAMES[found.container]}. A file whose name or type does not match its "
                "contents is refused; send the file as it came.", reason="claim")
    return found
