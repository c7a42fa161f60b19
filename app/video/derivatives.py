"""What is ever served of a video: a poster frame (JPEG) and a short preview (H.264 MP4, at
most `preview_seconds`, `preview_side` px on the long side, no sound, no metadata). Both are
made from decoded pixels only, so nothing of the original's container (GPS, device, names)
survives. `poster` runs in the caller on frames the sandbox returned; `encode_preview` runs
in the decoding child."""

from __future__ import annotations

import io
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from app.video.caps import Caps, Limits
from app.video.probe import DEMUXERS, VideoInfo

POSTER_QUALITY = 85
# A preview is for recognising the clip, not for watching it: 15 frames a second, and the
# decoder skips non-reference frames (half the decoding of a clip with B-frames).
PREVIEW_FPS = 15
PREVIEW_CRF = 30


def poster(images: list[Image.Image], long_side: int = 1280) -> bytes:
    """JPEG of the most detailed frame (largest spread of grey values, so not a black or
    faded frame), long side at most `long_side`, with no metadata at all."""
    if not images:
        raise ValueError("no frame to make a poster from")
    best = max(images, key=lambda im: float(np.asarray(im.convert("L").reduce(4)).std()))
    picture = Image.fromarray(np.asarray(best.convert("RGB")))  # pixels only
    picture.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=POSTER_QUALITY)
    return out.getvalue()


def _even_fit(w: int, h: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(w, h))
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


def _frames(source: Path, info: VideoInfo, seconds: float):  # noqa: ANN202 - a generator
    """(time, RGB picture) of the first `seconds`, from the video or the animation."""
    if info.kind == "animation":
        t = 0.0
        with Image.open(source, formats=["GIF" if info.container == "gif" else "WEBP"]) as im:
            for frame in ImageSequence.Iterator(im):
                if t >= seconds:
                    return
                yield t, frame.convert("RGB")
                t += max(frame.info.get("duration", 100) or 100, 20) / 1000
        return
    import av

    with av.open(str(source), format=DEMUXERS[info.container]) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        start = stream.start_time * stream.time_base if stream.start_time else 0
        for frame in container.decode(stream):
            t = float(frame.time - start) if frame.time is not None else 0.0
            if t >= seconds:
                return
            yield t, frame


def encode_preview(source: Path, info: VideoInfo, caps: Caps, limits: Limits,
                   target: Path, filename: str) -> dict:
    import av

    from app.video.frames import upright

    began = time.perf_counter()
    written, next_t, pts = 0, 0.0, -1
    with av.open(str(target), "w", format="mp4",
                 options={"movflags": "+faststart", "fflags": "+bitexact"}) as out:
        stream = None
        for t, frame in _frames(source, info, limits.preview_seconds):
            if t + 1e-6 < next_t:
                continue  # at most PREVIEW_FPS frames a second
            next_t = t + 1 / PREVIEW_FPS
            if not isinstance(frame, Image.Image):  # scaled by FFmpeg, turned as players show it
                fw, fh = _even_fit(frame.width, frame.height, limits.preview_side)
                frame = Image.fromarray(upright(frame, frame.to_ndarray(
                    format="rgb24", width=fw, height=fh)))
            if stream is None:
                w, h = _even_fit(frame.width, frame.height, limits.preview_side)
                stream = out.add_stream("libx264", rate=PREVIEW_FPS)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.codec_context.options = {"crf": str(PREVIEW_CRF), "preset": "veryfast"}
                stream.codec_context.thread_count = limits.threads
            if frame.size != (w, h):
                frame = frame.resize((w, h), Image.Resampling.BILINEAR)
            picture = av.VideoFrame.from_image(frame)
            pts = max(round(t * PREVIEW_FPS), pts + 1)  # rounding never gives two frames one time
            picture.pts, picture.time_base = pts, Fraction(1, PREVIEW_FPS)
            for packet in stream.encode(picture):
                out.mux(packet)
            written += 1
        if stream is None:
            raise ValueError("no frame to make a preview from")
        for packet in stream.encode():
            out.mux(packet)
    return {"frames": written, "seconds": round(time.perf_counter() - began, 3)}
