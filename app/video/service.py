"""The video core's public functions (documented in app/video/__init__.py)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app.video import derivatives
from app.video.caps import Caps, Limits
from app.video.errors import VideoRefused
from app.video.probe import VideoInfo
from app.video.refusal import Refusal
from app.video.sandbox import run_job
from app.video.sniff import Sniffed, identify

DEFAULT_CAPS, DEFAULT_LIMITS = Caps(), Limits()


@dataclass(frozen=True)
class Frame:
    t: float  # seconds from the start of the clip
    image: Image.Image  # RGB, bars trimmed, long side at most Limits.max_side
    reason: str  # why it was sampled: "first", "second", "keyframe", "cut", joined by "+"


@dataclass(frozen=True)
class Sampled:
    info: VideoInfo
    frames: list[Frame]
    decoded: int  # frames the decoder produced (non-reference frames are skipped)
    decode_seconds: float  # time spent decoding and selecting, in the child
    dropped: int = 0  # samples past Limits.max_samples, not returned


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _prepare(data: bytes, filename: str, caps: Caps, content_type: str | None) -> Sniffed:
    if not data:
        raise Refusal(f"“{filename}” is empty.", reason="type")
    if len(data) > caps.max_bytes:
        raise Refusal(f"“{filename}” is {_mb(len(data))}; the limit is {_mb(caps.max_bytes)} "
                      "per video.", reason="caps", status=413)
    return identify(data, filename, content_type)


def _job(task: str, source: bytes | Path, filename: str, caps: Caps, limits: Limits,
         content_type: str | None, folder: Path, *, niceness: int = 0) -> dict:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    sniffed = _prepare(data, filename, caps, content_type)
    path = folder / "input"  # our own name: nothing from the client touches the disk
    path.write_bytes(data)
    return run_job(task, folder, path, sniffed, caps, limits, filename, niceness=niceness)


def inspect(data: bytes, filename: str, caps: Caps = DEFAULT_CAPS, *,
            content_type: str | None = None, limits: Limits = DEFAULT_LIMITS) -> VideoInfo:
    try:
        with tempfile.TemporaryDirectory(prefix="video-") as tmp:
            result = _job("probe", data, filename, caps, limits, content_type, Path(tmp))
    except Refusal as refusal:
        raise VideoRefused.of(refusal) from None
    return VideoInfo(**result["info"])


def sample(source: bytes | Path, filename: str, caps: Caps = DEFAULT_CAPS,
           limits: Limits = DEFAULT_LIMITS, *, content_type: str | None = None) -> Sampled:
    try:
        with tempfile.TemporaryDirectory(prefix="video-") as tmp:
            folder = Path(tmp)
            result = _job("sample", source, filename, caps, limits, content_type, folder)
            manifest = json.loads((folder / "frames.json").read_text())
            raw = np.memmap(folder / "frames.raw", np.uint8, "r") if manifest["frames"] else None
            frames = [_frame(raw, entry, box)
                      for entry, box in zip(manifest["frames"], manifest["boxes"], strict=True)]
            del raw
    except Refusal as refusal:
        raise VideoRefused.of(refusal) from None
    stats = result["stats"]
    return Sampled(VideoInfo(**result["info"]), frames, stats["decoded"],
                   stats["decode_seconds"], stats["dropped"])


def _frame(raw: np.ndarray | None, entry: dict, box: list[int]) -> Frame:
    w, h, at = entry["width"], entry["height"], entry["offset"]
    top, bottom, left, right = box
    pixels = np.asarray(raw[at:at + w * h * 3]).reshape(h, w, 3)  # type: ignore[index]
    image = Image.fromarray(pixels[top:bottom, left:right].copy())
    return Frame(entry["t"], image, "+".join(entry["reasons"]))


def poster(frames: list[Frame], long_side: int = 1280) -> bytes:
    """A metadata-free JPEG of the clip's most detailed sampled frame."""
    return derivatives.poster([f.image for f in frames], long_side)


def preview(source: bytes | Path, filename: str, caps: Caps = DEFAULT_CAPS,
            limits: Limits = DEFAULT_LIMITS, *, content_type: str | None = None,
            niceness: int = 0) -> bytes:
    """`niceness`: the decoding child lowers its CPU priority by this much (a preview made
    while frames are being matched leaves them the cores)."""
    try:
        with tempfile.TemporaryDirectory(prefix="video-") as tmp:
            _job("preview", source, filename, caps, limits, content_type, Path(tmp),
                 niceness=niceness)
            return (Path(tmp) / "preview.mp4").read_bytes()
    except Refusal as refusal:
        raise VideoRefused.of(refusal) from None
