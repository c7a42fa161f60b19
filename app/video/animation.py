"""Animated GIF and WebP facts read by walking their blocks, without decoding a pixel:
canvas size, frame count and total duration. Pure (bytes in, facts out)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Browsers show a GIF frame declaring a delay under 20 ms for 100 ms; so do we.
GIF_MIN_DELAY = 0.02
GIF_DEFAULT_DELAY = 0.1


class Damaged(ValueError):
    """The blocks run past the end of the file or do not follow the format."""


@dataclass(frozen=True)
class AnimationFacts:
    width: int
    height: int
    frames: int  # counted up to stop_after + 1 when a stop was given
    seconds: float  # sum of the frame delays counted
    complete: bool  # False when counting stopped early


def gif_facts(data: bytes, stop_after: int | None = None) -> AnimationFacts:
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise Damaged("not a GIF")
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    i = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    frames, seconds, delay = 0, 0.0, GIF_DEFAULT_DELAY
    while True:
        if i >= len(data):
            raise Damaged("the file ends before the GIF trailer")
        block = data[i]
        if block == 0x3B:  # trailer
            return AnimationFacts(width, height, frames, seconds, True)
        if block == 0x21:  # extension: graphic control (0xF9) carries the next frame's delay
            if i + 2 > len(data):
                raise Damaged("truncated extension")
            if data[i + 1] == 0xF9 and i + 8 <= len(data):
                hundredths = struct.unpack_from("<H", data, i + 4)[0]
                delay = hundredths / 100 if hundredths / 100 >= GIF_MIN_DELAY else GIF_DEFAULT_DELAY
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW data
            if i + 11 > len(data):
                raise Damaged("truncated image descriptor")
            local = data[i + 9]
            i += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
            i = _skip_sub_blocks(data, i)
            frames += 1
            seconds += delay
            delay = GIF_DEFAULT_DELAY
            if stop_after is not None and frames > stop_after:
                return AnimationFacts(width, height, frames, seconds, False)
        else:
            raise Damaged(f"unexpected block 0x{block:02x}")


def _skip_sub_blocks(data: bytes, i: int) -> int:
    end = len(data)
    while i < end:
        size = data[i]
        i += 1 + size
        if size == 0:
            return i
    raise Damaged("the file ends inside a data block")


def webp_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(fourcc, payload offset, payload size) of each chunk of a RIFF WEBP file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Damaged("not a WebP")
    end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    chunks, i = [], 12
    while i + 8 <= end:
        fourcc, size = data[i:i + 4], struct.unpack_from("<I", data, i + 4)[0]
        if i + 8 + size > end:
            raise Damaged("a WebP chunk runs past the end of the file")
        chunks.append((fourcc, i + 8, size))
        i += 8 + size + (size & 1)
    return chunks


def webp_facts(data: bytes, stop_after: int | None = None) -> AnimationFacts:
    chunks = webp_chunks(data)
    vp8x = next(((o, s) for f, o, s in chunks if f == b"VP8X"), None)
    if vp8x is None or vp8x[1] < 10:
        raise Damaged("an animated WebP needs its VP8X header")
    o = vp8x[0]
    width = int.from_bytes(data[o + 4:o + 7], "little") + 1
    height = int.from_bytes(data[o + 7:o + 10], "little") + 1
    frames, millis = 0, 0
    for fourcc, offset, size in chunks:
        if fourcc != b"ANMF":
            continue
        if size < 16:
            raise Damaged("truncated animation frame")
        frames += 1
        millis += int.from_bytes(data[offset + 12:offset + 15], "little")
        if stop_after is not None and frames > stop_after:
            return AnimationFacts(width, height, frames, millis / 1000, False)
    return AnimationFacts(width, height, frames, millis / 1000, True)
