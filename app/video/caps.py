"""What a video may be (Caps, checked from its header) and what decoding it may cost (Limits,
enforced on the child process that decodes it). Defaults fit a story or a reel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

MB = 1024 * 1024

# Decoder names as FFmpeg reports them; "gif" and "webp" are the animated images.
CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif", "webp"})
CONTAINERS = frozenset({"mp4", "mov", "webm", "gif", "webp"})


@dataclass(frozen=True)
class Caps:
    max_seconds: float = 180.0
    max_long_side: int = 3840  # 4K either way round: 3840x2160 or 2160x3840
    max_short_side: int = 2160
    max_fps: float = 120.0
    max_streams: int = 4
    max_bytes: int = 200 * MB
    max_animation_frames: int = 1000
    # 3 min at 120 frames a second: a header declaring more frames is lying or hostile
    max_frames: int = 21_600
    codecs: frozenset[str] = field(default=CODECS)
    containers: frozenset[str] = field(default=CONTAINERS)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["codecs"], out["containers"] = sorted(self.codecs), sorted(self.containers)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Caps:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        for name in ("codecs", "containers"):
            if name in values:
                values[name] = frozenset(values[name])
        return cls(**values)


@dataclass(frozen=True)
class Limits:
    """What one decode may take. The child process enforces memory, CPU and output size on
    itself with setrlimit; the caller kills it at `wall_seconds`."""

    wall_seconds: float = 60.0
    probe_seconds: float = 10.0  # reading a header: a web request waits for it
    memory_bytes: int = 1536 * MB  # address space of the child, libraries included
    max_decoded_frames: int = 25_000  # above max_frames: a header may under-declare
    max_samples: int = 400  # frames handed back at most
    max_side: int = 1280  # long side of the frames handed back (hashing works at 512)
    output_bytes: int = 1024 * MB  # all files the child may write
    threads: int = 2  # decoder threads (the machine's cores are shared)
    preview_seconds: float = 10.0
    preview_side: int = 480

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})
