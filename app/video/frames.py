"""Sampling a clip's frames (run inside the decoding child, see sandbox.py): decode, offer each
frame to the Selector, keep the chosen ones as RGB at most `max_side` long, and find the
letterbox or pillarbox bars once for the clip (app/evidence/borders.py, the photos' trimming).
A video is decoded in segments at once (segments.py); animations here, in one pass.

Non-reference frames are never decoded (`skip_frame = NONREF`): no other frame needs them, so
dropping them costs nothing but the frames themselves, and a sample a second or a cut is then
found on the nearest reference frame instead (at 30 frames a second, within a few frames).
Animated GIF and WebP go through Pillow and the same Selector.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageSequence

from app.evidence.borders import trim_borders
from app.video.caps import Caps, Limits
from app.video.probe import VideoInfo, duration_words
from app.video.refusal import Refusal
from app.video.selection import Kept, Selector, thumbnail

EIGHT_BIT_LUMA = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p",
                            "yuvj444p", "nv12", "nv21", "gray"})
TRIM_SIDE = 320  # bars are found on a grey copy this long: plenty for a bar, cheap


@dataclass
class Sink:
    """Kept frames go straight to one raw RGB file (the child holds none of them); the
    manifest says where each one is. Frames are added as they are decoded (from several
    threads for a clip decoded in segments), then `finish` keeps the ones chosen in order."""

    out: BinaryIO
    entries: list[dict] = field(default_factory=list)
    greys: list[np.ndarray] = field(default_factory=list)
    offset: int = 0
    limit: int = 400
    dropped: int = 0  # samples past the limit, counted so that the caller knows
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, t: float, reasons: list[str], rgb: np.ndarray) -> None:
        """One frame (from any thread): written, its entry and its bars' grey copy kept."""
        h, w = rgb.shape[:2]
        data = np.ascontiguousarray(rgb).tobytes()
        scale = TRIM_SIDE / max(w, h)
        grey = Image.fromarray(rgb).convert("L")
        if scale < 1:
            grey = grey.resize((max(1, round(w * scale)), max(1, round(h * scale))))
        with self._lock:
            self.out.write(data)
            self.entries.append({"t": round(t, 3), "reasons": reasons, "width": w,
                                 "height": h, "offset": self.offset, "at": t})
            self.offset += w * h * 3
            self.greys.append(np.asarray(grey))

    def finish(self, kept: list[Kept]) -> None:
        """Keep the entries of `kept` (in its order, with its reasons), at most `limit`;
        a chosen frame past the limit, never stored, is counted as dropped."""
        stored = {e.pop("at"): (e, g) for e, g in zip(self.entries, self.greys, strict=True)}
        self.entries, self.greys = [], []
        for sample in kept:
            found = stored.get(sample.t)
            if found is None or len(self.entries) >= self.limit:
                self.dropped += 1
                continue
            entry, grey = found
            entry["reasons"] = sample.reasons
            self.entries.append(entry)
            self.greys.append(grey)

    def boxes(self) -> list[list[int]]:
        """Per frame (top, bottom, left, right): the union, over the frames of its size, of
        each one's picture inside bars; so a dark scene is not cut down to its bright part."""
        union: dict[tuple[int, int], list[float]] = {}
        for entry, grey in zip(self.entries, self.greys, strict=True):
            key = (entry["width"], entry["height"])
            gh, gw = grey.shape
            top, bottom, left, right = trim_borders(grey)
            box = [top / gh, bottom / gh, left / gw, right / gw]
            seen = union.setdefault(key, box)
            union[key] = [min(seen[0], box[0]), max(seen[1], box[1]),
                          min(seen[2], box[2]), max(seen[3], box[3])]
        out = []
        for entry in self.entries:
            w, h = entry["width"], entry["height"]
            top, bottom, left, right = union[(w, h)]
            out.append([round(top * h), round(bottom * h), round(left * w), round(right * w)])
        return out


def fit(w: int, h: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(w, h))
    return max(2, round(w * scale)), max(2, round(h * scale))


def too_long(info: VideoInfo, caps: Caps, filename: str) -> Refusal:
    said = ("its header does not say how long" if info.seconds is None
            else f"its header says {duration_words(info.seconds)}")
    return Refusal(f"“{filename}” runs longer than the limit of "
                   f"{duration_words(caps.max_seconds)} ({said}).", reason="caps")


def sample_animation(path: Path, info: VideoInfo, caps: Caps, limits: Limits, sink: Sink,
                     filename: str) -> dict:
    selector = Selector()
    decoded, t = 0, 0.0
    began = time.perf_counter()
    fmt = "GIF" if info.container == "gif" else "WEBP"
    with Image.open(path, formats=[fmt]) as img:
        for frame in ImageSequence.Iterator(img):
            decoded += 1
            if decoded > caps.max_animation_frames:
                raise Refusal(f"“{filename}” has more than {caps.max_animation_frames:,} "
                              "frames; decoding was stopped.", reason="frames")
            rgb = frame.convert("RGB")
            kept = selector.offer(t, decoded == 1, thumbnail(np.asarray(rgb.convert("L"))))
            if kept is not None and len(sink.entries) < sink.limit:
                w, h = fit(rgb.width, rgb.height, limits.max_side)
                sink.add(t, kept.reasons, np.asarray(
                    rgb.resize((w, h)) if (w, h) != rgb.size else rgb))
            t += max(frame.info.get("duration", 100) or 100, 20) / 1000
    sink.finish(selector.kept)  # with the reasons merged into a sample after it was added
    return {"decoded": decoded, "packets": decoded, "dropped": sink.dropped,
            "decode_seconds": round(time.perf_counter() - began, 4)}


def upright(frame: object, rgb: np.ndarray) -> np.ndarray:
    """The picture as players show it: phones film portrait as landscape plus a display
    matrix saying how far to turn it (counterclockwise, as FFmpeg reads it)."""
    turns = round((frame.rotation or 0) / 90) % 4  # type: ignore[attr-defined]
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def luma(frame: object) -> np.ndarray:
    """The frame's grey picture: its 8-bit Y plane as it is when it has one (no conversion);
    any other format (10-bit HDR, RGB) is converted."""
    if frame.format.name in EIGHT_BIT_LUMA:  # type: ignore[attr-defined]
        plane = frame.planes[0]  # type: ignore[attr-defined]
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        return rows[:plane.height, :plane.width]
    return frame.to_ndarray(format="gray")  # type: ignore[attr-defined]


def write_manifest(folder: Path, sink: Sink, stats: dict, info: VideoInfo) -> None:
    manifest = {"frames": sink.entries, "boxes": sink.boxes(), "stats": stats,
                "info": info.to_dict()}
    (folder / "frames.json").write_text(json.dumps(manifest))
