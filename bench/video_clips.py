"""Phone clips made from still pictures, for bench/video_matching.py (issue 12).

Every clip is a 9:16 portrait video, 720x1280 (a phone's 1080x1920 halved, to keep the
benchmark quick; the product samples frames at most 1280 px long either way), 15 frames a
second (a phone records 30; sampling takes one a second, so 15 halves the encoding and changes
what is sampled little), H.264 (libx264) or VP9 (libvpx-vp9), made with PyAV from one still picture:

* pan: the picture fills the frame's height (or width, for a picture narrower than 9:16) and
  the frame slides across it from one end to the other over the clip;
* zoom: the frame-filling centre of the picture, zoomed in from 1x to 1.6x;
* pan_caption: the pan with a story caption burned in (bold outlined words, sometimes on a
  dark band, up to a quarter of the frame's height), the same on every frame;
* letterbox: the picture's 16:9 centre inside the 9:16 frame with black bars above and
  below (a landscape film posted as a story), drifting in by 10%;
* mirror: the pan, mirrored left to right (a front camera, or a repost that flips it);
* low_bitrate: the pan re-encoded at 300 kbit/s;
* middle_3s: 3 s of another, unrelated picture, 3 s of the pan across this one, and 3 s of
  the unrelated picture again (a cell seen in passing).

And clips made from a clip (a repost of a held clip): trimmed to its middle part,
letterboxed into a 16:9 landscape frame (pillarbox bars), re-encoded at 300 kbit/s,
mirrored, or captioned, each decoded from the clip's own file and encoded again.

Clips are cached under the bench cache folder (bench/photo_sources.cache_dir) by a name that
says what they are; the same seed gives the same clip.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from bench.photo_sources import cache_dir

W, H, FPS = 720, 1280, 15
BIT_RATE, LOW_BIT_RATE = 2_000_000, 300_000  # a platform's story rate at 720p; a cheap repost
CLIP_KINDS = ("pan", "zoom", "pan_caption", "letterbox", "mirror", "low_bitrate", "middle_3s")
REPOST_KINDS = ("trim", "letterbox", "low_bitrate", "mirror", "caption")
CODECS = {"h264": ("libx264", "mp4"), "vp9": ("libvpx-vp9", "webm")}
VERSION = "v2"  # part of the cache's folder name: change it when a clip's recipe changes
WORDS = ["no way", "lol", "day 412", "bored", "lockdown", "send help", "who wants",
         "cell vibes", "hmu", "inside", "free me", "drop", "tonight", "link in bio", "fr"]

Frames = Iterator[np.ndarray]


@dataclass(frozen=True)
class ClipSpec:
    name: str  # the source's name (a cached clip's file name starts with it)
    kind: str
    codec: str  # "h264" or "vp9"
    seconds: float
    seed: int


def seed_of(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


def spec(name: str, kind: str) -> ClipSpec:
    seed = seed_of(name, kind)
    seconds = 9.0 if kind == "middle_3s" else 6.0 + seed % 3  # 6 to 8 s
    return ClipSpec(name, kind, "h264" if (seed >> 8) % 2 == 0 else "vp9", seconds, seed)


# ----------------------------------------------------------------------------- pictures


def _fill(picture: np.ndarray, zoom: float = 1.0) -> np.ndarray:
    """The picture scaled so that it covers a W x H frame (times `zoom`)."""
    ph, pw = picture.shape[:2]
    s = max(W / pw, H / ph) * zoom
    size = (max(W, round(pw * s)), max(H, round(ph * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(picture, size, interpolation=interp)


def pan(picture: np.ndarray, count: int, start: float = 0.0, end: float = 1.0) -> Frames:
    """`count` frames sliding from `start` to `end` (fractions of the way) across it."""
    big = _fill(picture)
    bh, bw = big.shape[:2]
    for f in np.linspace(start, end, count):
        if bw - W >= bh - H:  # wider than the frame: slide sideways
            x, y = round(f * (bw - W)), (bh - H) // 2
        else:
            x, y = (bw - W) // 2, round(f * (bh - H))
        yield np.ascontiguousarray(big[y:y + H, x:x + W])


def zoom(picture: np.ndarray, count: int, upto: float = 1.6) -> Frames:
    big = _fill(picture)
    bh, bw = big.shape[:2]
    cx, cy = bw / 2, bh / 2
    for z in np.linspace(1.0, upto, count):
        w, h = W / z, H / z
        box = big[round(cy - h / 2):round(cy + h / 2), round(cx - w / 2):round(cx + w / 2)]
        yield cv2.resize(box, (W, H), interpolation=cv2.INTER_LINEAR)


def letterbox(picture: np.ndarray, count: int, drift: float = 1.1) -> Frames:
    """The 16:9 centre of the picture in a 9:16 frame, black bars above and below."""
    ph, pw = picture.shape[:2]
    cw, ch = (pw, round(pw * 9 / 16)) if pw * 9 <= ph * 16 else (round(ph * 16 / 9), ph)
    y0, x0 = (ph - ch) // 2, (pw - cw) // 2
    inner_h = round(W * 9 / 16)
    top = (H - inner_h) // 2
    for z in np.linspace(1.0, drift, count):
        w, h = cw / z, ch / z
        cx, cy = x0 + cw / 2, y0 + ch / 2
        box = picture[round(cy - h / 2):round(cy + h / 2), round(cx - w / 2):round(cx + w / 2)]
        out = np.zeros((H, W, 3), np.uint8)
        out[top:top + inner_h] = cv2.resize(box, (W, inner_h), interpolation=cv2.INTER_AREA)
        yield out


def caption(seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """A story caption (the same on every frame): 1-3 lines of bold outlined words, half of
    the time on a darkened band, the whole up to a quarter of the frame's height."""
    rng = np.random.default_rng(seed)
    band = rng.uniform(0.08, 0.25)
    lines = int(rng.integers(1, 4))
    y0 = rng.uniform(0.05, 0.95 - band)
    shade = rng.random() < 0.5
    texts = [" ".join(str(x) for x in rng.choice(WORDS, int(rng.integers(2, 4))))
             for _ in range(lines)]
    xs = rng.uniform(0, 0.15, lines)

    def draw(frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        h, w = out.shape[:2]
        top, tall = int(y0 * h), int(band * h)
        if shade:
            out[top:top + tall] = (out[top:top + tall] * 0.35).astype(np.uint8)
        size = tall / lines / 32
        thick = max(2, int(size * 2.5))
        for i, text in enumerate(texts):
            y = int(top + (i + 0.8) * tall / lines)
            at = (int(xs[i] * w), y)
            cv2.putText(out, text, at, cv2.FONT_HERSHEY_DUPLEX, size, (0, 0, 0), thick + 4,
                        cv2.LINE_AA)
            cv2.putText(out, text, at, cv2.FONT_HERSHEY_DUPLEX, size, (255, 255, 255), thick,
                        cv2.LINE_AA)
        return out

    return draw


def clip_frames(s: ClipSpec, picture: np.ndarray, filler: np.ndarray) -> Frames:
    n = round(s.seconds * FPS)
    if s.kind in ("pan", "low_bitrate"):
        return pan(picture, n)
    if s.kind == "mirror":
        return (np.ascontiguousarray(f[:, ::-1]) for f in pan(picture, n))
    if s.kind == "zoom":
        return zoom(picture, n)
    if s.kind == "pan_caption":
        draw = caption(s.seed)
        return (draw(f) for f in pan(picture, n))
    if s.kind == "letterbox":
        return letterbox(picture, n)
    if s.kind == "middle_3s":
        third = 3 * FPS
        return _chain(pan(filler, third, 0.0, 0.45), pan(picture, third),
                      pan(filler, third, 0.55, 1.0))
    raise ValueError(s.kind)


def _chain(*parts: Frames) -> Frames:
    for part in parts:
        yield from part


# ----------------------------------------------------------------------------- encoding


def encode(frames: Frames, codec: str, bit_rate: int, target: Path | io.BytesIO,
           rate: int = FPS) -> None:
    name, fmt = CODECS[codec]
    with av.open(target, "w", format=fmt) as out:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = out.add_stream(name, rate=rate)
                stream.height, stream.width = rgb.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.bit_rate = bit_rate
                stream.codec_context.gop_size = 4 * rate  # a keyframe every 4 s at most
                # fast settings: phones and platforms encode in real time too
                stream.codec_context.options = (
                    {"preset": "veryfast"} if codec == "h264"
                    else {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
                stream.thread_count = 1
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)


def _cached(name: str, make: Callable[[Path], None]) -> Path:
    path = cache_dir() / "video" / f"clips-{VERSION}" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # its own part file: two runs making the same clip at once (a shared cache) each
        # rename a whole clip, the same bytes; a run killed half-way leaves no half clip
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        make(part)
        part.rename(path)
    return path


def make_clip(s: ClipSpec, picture: np.ndarray, filler: np.ndarray) -> Path:
    ext = CODECS[s.codec][1]
    rate = LOW_BIT_RATE if s.kind == "low_bitrate" else BIT_RATE
    return _cached(f"{s.name}_{s.kind}_{s.codec}.{ext}",
                   lambda p: encode(clip_frames(s, picture, filler), s.codec, rate, p))


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def repost_frames(kind: str, frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """A clip made from a held clip's frames."""
    if kind == "trim":  # the middle part: from 30% to 70% of the clip
        n = len(frames)
        return frames[int(n * 0.3):int(n * 0.7)]
    if kind == "letterbox":  # into a 1280x720 landscape frame, bars left and right
        inner = round(720 * W / H) // 2 * 2
        left = (1280 - inner) // 2
        out = []
        for f in frames:
            o = np.zeros((720, 1280, 3), np.uint8)
            o[:, left:left + inner] = cv2.resize(f, (inner, 720), interpolation=cv2.INTER_AREA)
            out.append(o)
        return out
    if kind == "mirror":
        return [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    if kind == "caption":
        draw = caption(seed)
        return [draw(f) for f in frames]
    if kind == "low_bitrate":
        return frames
    raise ValueError(kind)


def make_repost(held: Path, kind: str, name: str, seed: int) -> Path:
    """Clip B made from clip A (`held`): decoded from A's file, changed, encoded again."""
    codec = "h264" if (seed >> 8) % 2 == 0 else "vp9"
    ext = CODECS[codec][1]
    rate = LOW_BIT_RATE if kind == "low_bitrate" else BIT_RATE
    return _cached(f"{name}_repost-{kind}_{codec}.{ext}",
                   lambda p: encode(iter(repost_frames(kind, decoded(held), seed)), codec,
                                    rate, p))
