"""A video's facts from its header alone (PyAV opens the container: boxes, tracks, codec
parameters; no picture is decoded beyond what FFmpeg's own probing needs, and that is bounded
by `max_pixels`), and the check of those facts against the caps."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.video.animation import Damaged, gif_facts, webp_facts
from app.video.boxes import declared_seconds
from app.video.caps import Caps
from app.video.refusal import Refusal
from app.video.sniff import Sniffed

# The FFmpeg demuxer each sniffed container is opened with: never FFmpeg's own guess, so a
# file that is two formats at once is read as the one we checked.
DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "matroska": "matroska"}
# Decoder implementations reported under the codec's own name.
_CODEC_NAMES = {"libdav1d": "av1", "libvpx": "vp8", "libvpx-vp9": "vp9", "libaom-av1": "av1"}
_CODEC_WORDS = "H.264, H.265 (HEVC), VP8, VP9, AV1 or MPEG-4 video, or an animated GIF or WebP"


@dataclass(frozen=True)
class VideoInfo:
    container: str
    kind: str  # video | animation
    codec: str
    width: int
    height: int
    seconds: float | None  # None: the header does not say (decoding enforces the cap)
    fps: float | None
    frames: int | None  # declared by the header, when it does
    streams: int
    video_streams: int
    audio: bool
    size: int  # bytes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(path: Path, sniffed: Sniffed, caps: Caps, filename: str = "the file") -> VideoInfo:
    """Header facts; Refusal("damaged") when the header cannot be read."""
    size = path.stat().st_size
    if sniffed.container in ("gif", "webp"):
        return _probe_animation(path.read_bytes(), sniffed, caps, size, filename)
    import av  # late: only the decoding child and probes load FFmpeg

    # max_pixels bounds any picture FFmpeg's probing decodes; one thread keeps it small.
    options = {"max_pixels": str(caps.max_long_side * caps.max_short_side), "threads": "1"}
    try:
        with av.open(str(path), format=DEMUXERS[sniffed.container], options=options) as c:
            streams = list(c.streams)
            videos = [s for s in streams if s.type == "video"]
            durations = [c.duration / 1_000_000] if c.duration else []
            durations += [float(s.duration * s.time_base) for s in streams
                          if s.duration and s.time_base]
            if sniffed.container in ("mp4", "mov"):
                with path.open("rb") as f:
                    declared = declared_seconds(f)
                durations += [declared] if declared is not None else []
            first = videos[0] if videos else None
            ctx = first.codec_context if first is not None else None
            name = ctx.name if ctx is not None else (first.codec.name if first else "none")
            rate = first.average_rate if first is not None else None
            seconds = max(durations) if durations else None
            frames = first.frames if first is not None and first.frames else None
            fps = float(rate) if rate else (frames / seconds if frames and seconds else None)
            return VideoInfo(
                container=sniffed.container, kind="video",
                codec=_CODEC_NAMES.get(name, name),
                width=ctx.width if ctx is not None else 0,
                height=ctx.height if ctx is not None else 0,
                seconds=seconds, fps=fps, frames=frames, streams=len(streams),
                video_streams=len(videos), audio=any(s.type == "audio" for s in streams),
                size=size)
    except (av.FFmpegError, OSError, ValueError, ZeroDivisionError) as exc:
        raise Refusal(f"“{filename}” is damaged or incomplete: its header could not be read "
                           f"({_short(exc)}).", reason="damaged") from None


def _probe_animation(data: bytes, sniffed: Sniffed, caps: Caps, size: int,
                     filename: str) -> VideoInfo:
    facts_of = gif_facts if sniffed.container == "gif" else webp_facts
    try:
        facts = facts_of(data, stop_after=caps.max_animation_frames)
    except Damaged as exc:
        raise Refusal(f"“{filename}” is damaged or incomplete ({exc}).",
                           reason="damaged") from None
    seconds = facts.seconds if facts.complete else None
    return VideoInfo(
        container=sniffed.container, kind="animation", codec=sniffed.container,
        width=facts.width, height=facts.height, seconds=seconds,
        fps=facts.frames / facts.seconds if facts.seconds else None,
        frames=facts.frames, streams=1, video_streams=1, audio=False, size=size)


def _short(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0][:120]


def duration_words(seconds: float) -> str:
    """10 h, 3 min, 4 min 12 s, 45 s: how a person says a length."""
    whole = round(seconds)
    if whole >= 3600:
        h, m = divmod(round(whole / 60), 60)
        return f"{h} h" + (f" {m} min" if m else "")
    if whole >= 60:
        m, s = divmod(whole, 60)
        return f"{m} min" + (f" {s} s" if s else "")
    return f"{seconds:.1f} s".replace(".0 s", " s")


def problems(info: VideoInfo, caps: Caps) -> list[str]:
    """Every cap this video breaks, each as a sentence an analyst understands."""
    out = []
    what = "animation" if info.kind == "animation" else "video"
    if info.container not in caps.containers:
        out.append(f"{_article(info.container)} file is not accepted; send MP4, MOV or WebM.")
    if info.video_streams == 0:
        out.append("It holds no video stream.")
    elif info.codec not in caps.codecs:
        out.append(f"It is encoded as {info.codec}; accepted are {_CODEC_WORDS}.")
    if info.streams > caps.max_streams:
        out.append(f"It holds {info.streams} streams (video, sound and others); "
                   f"the limit is {caps.max_streams}.")
    if info.seconds is not None and info.seconds > caps.max_seconds:
        out.append(f"This {what} lasts {duration_words(info.seconds)}; the limit is "
                   f"{duration_words(caps.max_seconds)}.")
    long_side, short_side = max(info.width, info.height), min(info.width, info.height)
    if long_side > caps.max_long_side or short_side > caps.max_short_side:
        out.append(f"Its frames are {info.width}×{info.height} pixels; the limit is "
                   f"{caps.max_long_side}×{caps.max_short_side}, either way round.")
    if info.fps is not None and info.fps > caps.max_fps + 0.01:
        out.append(f"It runs at {round(info.fps, 2):g} frames a second; the limit is "
                   f"{caps.max_fps:g}.")
    if info.kind == "animation" and info.frames and info.frames > caps.max_animation_frames:
        more = "more than " if info.seconds is None else ""
        out.append(f"This animation has {more}{caps.max_animation_frames:,} frames; "
                   f"the limit is {caps.max_animation_frames:,}.")
    elif info.frames and info.frames > caps.max_frames:
        out.append(f"This {what} holds {info.frames:,} frames; the limit is "
                   f"{caps.max_frames:,}.")
    return out


def _article(container: str) -> str:
    return {"matroska": "A Matroska (MKV)"}.get(container, f"A {container.upper()}")


def check(info: VideoInfo, caps: Caps, filename: str) -> None:
    found = problems(info, caps)
    if found:
        raise Refusal(f"“{filename}” was refused: " + " ".join(found), problems=found)
