"""Durations an MP4/MOV header declares (mvhd, and each track's mdhd), read from the boxes
themselves: FFmpeg reports the sample tables' length instead, so a moov declaring 10 hours
over a second of media would pass unseen. Reads only box headers and the moov box."""

from __future__ import annotations

import struct
from typing import BinaryIO

MAX_MOOV = 64 * 1024 * 1024  # a moov this large is itself hostile; FFmpeg then refuses it


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, i)
        head = 8
        if size == 1 and i + 16 <= end:
            size, head = struct.unpack_from(">Q", data, i + 8)[0], 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            break
        out.append((kind, i + head, i + size))
        i += size
    return out


def _moov(f: BinaryIO) -> bytes | None:
    f.seek(0, 2)
    end = f.tell()
    i = 0
    while i + 8 <= end:
        f.seek(i)
        head = f.read(16)
        size, kind = struct.unpack_from(">I4s", head)
        skip = 8
        if size == 1 and len(head) == 16:
            size, skip = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = end - i
        if size < skip:
            return None
        if kind == b"moov":
            if size > MAX_MOOV:
                return None
            f.seek(i + skip)
            return f.read(size - skip)
        i += size
    return None


def _duration(payload: bytes) -> float | None:
    """Seconds in a mvhd or mdhd payload (version 0 or 1)."""
    if not payload:
        return None
    if payload[0] == 1 and len(payload) >= 32:
        scale, duration = struct.unpack_from(">IQ", payload, 20)
    elif len(payload) >= 20:
        scale, duration = struct.unpack_from(">II", payload, 12)
    else:
        return None
    if not scale or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None  # unknown duration, as the format allows
    return duration / scale


def declared_seconds(f: BinaryIO) -> float | None:
    """The longest duration the moov declares (movie or any track), or None."""
    moov = _moov(f)
    if moov is None:
        return None
    found = []
    for kind, start, end in _boxes(moov, 0, len(moov)):
        if kind == b"mvhd":
            found.append(_duration(moov[start:end]))
        elif kind == b"trak":
            for k2, s2, e2 in _boxes(moov, start, end):
                if k2 == b"mdia":
                    found += [_duration(moov[s3:e3]) for k3, s3, e3 in _boxes(moov, s2, e2)
                              if k3 == b"mdhd"]
    values = [v for v in found if v is not None]
    return max(values) if values else None


MAC_EPOCH_OFFSET = 2_082_844_800  # seconds from 1904-01-01 (QuickTime's epoch) to 1970-01-01


def declared_created(f: BinaryIO) -> int | None:
    """When the movie header says the file was made, in Unix seconds, or None (unset: 0).
    Phones write it; the app uses it for a frame's day when the post time is not known."""
    moov = _moov(f)
    if moov is None:
        return None
    for kind, start, end in _boxes(moov, 0, len(moov)):
        if kind == b"mvhd" and end - start >= 12:
            version = moov[start]
            if version == 1 and end - start >= 12:
                stamp = struct.unpack_from(">Q", moov, start + 4)[0]
            else:
                stamp = struct.unpack_from(">I", moov, start + 4)[0]
            return stamp - MAC_EPOCH_OFFSET if stamp > MAC_EPOCH_OFFSET else None
    return None
