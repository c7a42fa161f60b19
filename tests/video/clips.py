"""Video files made in the test itself with PyAV and Pillow: small and quick to build."""

from __future__ import annotations

import io
import struct
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def pan_frames(picture: np.ndarray, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """`count` frames of (width, height) `size` panning left to right across `picture`."""
    w, h = size
    ph, pw = picture.shape[:2]
    xs = np.linspace(0, pw - w, count).astype(int)
    y = (ph - h) // 2
    return [picture[y:y + h, x:x + w] for x in xs]


def scene(seed: int, size: tuple[int, int]) -> np.ndarray:
    """A textured picture (blocks of colour and noise), different for each seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, (max(h // 24, 4), max(w // 24, 4), 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))
    return np.clip(big.astype(int) + rng.integers(-3, 4, big.shape), 0, 255).astype(np.uint8)


def encode(frames: list[np.ndarray], *, fmt: str = "mp4", codec: str = "libx264",
           rate: int = 30, gop: int | None = None, audio: bool = False,
           metadata: dict[str, str] | None = None, faststart: bool = False) -> bytes:
    if faststart:  # the muxer rewrites the file to move the moov first: a real file
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"clip.{fmt}"
            _write(str(path), frames, fmt, codec, rate, gop, audio, metadata,
                   {"movflags": "+faststart"})
            return path.read_bytes()
    buf = io.BytesIO()
    _write(buf, frames, fmt, codec, rate, gop, audio, metadata, {})
    return buf.getvalue()


def _write(target: object, frames: list[np.ndarray], fmt: str, codec: str, rate: int,
           gop: int | None, audio: bool, metadata: dict[str, str] | None,
           options: dict[str, str]) -> None:
    with av.open(target, "w", format=fmt, options=options) as out:
        h, w = frames[0].shape[:2]
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if gop:  # a keyframe every `gop` frames and nowhere else (no keyframe at cuts)
            stream.codec_context.gop_size = gop
            if codec == "libx264":
                stream.codec_context.options = {"x264-params": "scenecut=0"}
        out.metadata.update(metadata or {})
        sound = out.add_stream("aac", rate=16000) if audio else None
        for i, rgb in enumerate(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
            if sound is not None and i % 2 == 0:
                tone = np.sin(np.arange(1024) / 8).astype(np.float32)[None, :]
                chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                chunk.sample_rate = 16000
                for packet in sound.encode(chunk):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            for packet in sound.encode():
                out.mux(packet)


def small_clip(seconds: float = 2, size: tuple[int, int] = (96, 64), rate: int = 15,
               **kw: object) -> bytes:
    return encode(pan_frames(scene(1, (size[0] * 5 // 4, size[1])), size, int(seconds * rate)),
                  rate=rate, **kw)  # type: ignore[arg-type]


def patch_durations(mp4: bytes, seconds: float) -> bytes:
    """Rewrite the mvhd, tkhd and mdhd durations of an MP4 (moov read as is): the header then
    declares `seconds` while the media stays as it was."""
    data = bytearray(mp4)
    for box in (b"mvhd", b"tkhd", b"mdhd"):
        start = 0
        while (at := data.find(box, start)) != -1:
            start = at + 4
            version = data[at + 4]
            if box == b"tkhd":
                scale = None
                dur_at = at + 4 + (28 if version == 1 else 20)
            else:
                scale_at = at + 4 + (20 if version == 1 else 12)
                scale = struct.unpack_from(">I", data, scale_at)[0]
                dur_at = scale_at + 4
            if box == b"tkhd":
                scale = struct.unpack_from(">I", data, data.find(b"mvhd") + 16)[0]
            value = int(seconds * scale)
            if version == 1:
                struct.pack_into(">Q", data, dur_at, value)
            else:
                struct.pack_into(">I", data, dur_at, min(value, 0xFFFFFFFF))
    return bytes(data)


def many_tiny_frames(count: int, rate: int) -> bytes:
    """`count` 16x16 frames: one encoded frame muxed `count` times (no encoding per frame)."""
    one = encode([np.zeros((16, 16, 3), np.uint8)], rate=rate, codec="mpeg4")
    buf = io.BytesIO()
    with av.open(io.BytesIO(one)) as src, av.open(buf, "w", format="mp4") as out:
        payload = bytes(next(p for p in src.demux(video=0) if p.size))
        stream = out.add_stream_from_template(src.streams.video[0])
        stream.time_base = Fraction(1, rate)
        for i in range(count):
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base, packet.is_keyframe = Fraction(1, rate), True
            out.mux(packet)
    return buf.getvalue()


def gif(frames: int, side: int = 1) -> bytes:
    """A GIF of `frames` frames of side x side pixels, written block by block."""
    head = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    body = []
    pixels = Image.new("P", (side, side))
    for i in range(frames):
        pixels.putpalette([0, 0, 0, 255, 255, 255])
        frame = io.BytesIO()
        Image.new("P", (side, side), i % 2).save(frame, "GIF")
        raw = frame.getvalue()
        start = raw.index(b",")
        body.append(b"!\xf9\x04\x04\x05\x00\x00\x00" + raw[start:-1])
    return head + loop + b"".join(body) + b";"


def huge_frames(side: int = 16000) -> bytes:
    """A WebM whose one VP8 frame declares side x side pixels: a tiny frame whose header (the
    track's and the bitstream's) is rewritten; decoding it would allocate side**2 pixels."""
    tiny = encode([scene(3, (64, 48))], fmt="webm", codec="libvpx")
    buf = io.BytesIO()
    with av.open(io.BytesIO(tiny)) as src, av.open(buf, "w", format="webm") as out:
        packet = next(p for p in src.demux(video=0) if p.size)
        payload = bytearray(bytes(packet))
        at = payload.index(b"\x9d\x01\x2a") + 3  # VP8 key frame: 14-bit width, height
        struct.pack_into("<HH", payload, at, side, side)
        stream = out.add_stream_from_template(src.streams.video[0])
        stream.width = stream.height = side
        stream.time_base = Fraction(1, 1000)
        copy = av.Packet(bytes(payload))
        copy.stream, copy.pts, copy.dts, copy.time_base = stream, 0, 0, Fraction(1, 1000)
        copy.is_keyframe = True
        out.mux(copy)
    return buf.getvalue()


def many_streams(count: int) -> bytes:
    """An MP4 holding `count` video streams, each with the same one tiny frame."""
    one = encode([np.zeros((16, 16, 3), np.uint8)], rate=10, codec="mpeg4")
    buf = io.BytesIO()
    with av.open(io.BytesIO(one)) as src, av.open(buf, "w", format="mp4") as out:
        payload = bytes(next(p for p in src.demux(video=0) if p.size))
        streams = [out.add_stream_from_template(src.streams.video[0]) for _ in range(count)]
        for stream in streams:
            stream.time_base = Fraction(1, 10)
        for stream in streams:
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts = stream, 0, 0
            packet.time_base, packet.is_keyframe = Fraction(1, 10), True
            out.mux(packet)
    return buf.getvalue()


def portrait() -> bytes:
    """160x96 frames (top half white) with a display matrix turning them a quarter
    counterclockwise: as players show it, 96x160 with the white half on the left."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.set_display_rotation(90)
        picture = np.zeros((96, 160, 3), np.uint8)
        picture[:48] = 255
        for _ in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def hevc_10_bit(frames: list[np.ndarray], rate: int = 15) -> bytes:
    """H.265 Main 10, as iPhones record HDR video."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx265", rate=rate)
        h, w = frames[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p10le"
        stream.codec_context.options = {"x265-params": "log-level=error"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def live_webm(frames: list[np.ndarray], rate: int = 15) -> bytes:
    """A WebM written as a browser's recorder writes it: no duration in its header."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm", options={"live": "1"}) as out:
        stream = out.add_stream("libvpx", rate=rate)
        h, w = frames[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()
