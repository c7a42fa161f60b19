"""A sampled frame's stored original: lossless and nothing but its pixels."""

import io
import struct

import numpy as np
from PIL import Image

from app.matching.sampling import frame_png
from app.video import Frame


def _chunks(png: bytes) -> list[bytes]:
    out, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        out.append(png[at + 4:at + 8])
        at += 12 + length
    return out


def test_a_frame_is_stored_as_a_lossless_png_of_its_pixels_only():
    pixels = np.random.default_rng(3).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    png = frame_png(Frame(t=1.5, image=Image.fromarray(pixels), reason="second"))
    with Image.open(io.BytesIO(png)) as back:
        assert back.format == "PNG" and back.mode == "RGB" and back.size == (160, 96)
        assert np.array_equal(np.asarray(back), pixels)  # red stays red: no BGR mix-up
    chunks = _chunks(png)  # the picture's data may come in several IDAT chunks
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and set(chunks[1:-1]) == {b"IDAT"}
