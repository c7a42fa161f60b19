"""What is ever served of a video: a poster frame (JPEG) and a short preview (H.264 MP4, at
most `preview_seconds`, `preview_side` px on the long side, no sound, no metadata). Both are
made from decoded pixels only, so nothing of the original's container (GPS, device, names)
survives. `poster` runs in the caller on frames the sandbox returned; the preview is encoded
in a decoding child of its own (`encode_preview` feeding a PreviewWriter)."""

from __future__ import annotations

import contextlib
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
# The match workers make it after the matching (app/matching/previews.py), in a child of its
# own. On the speed bench's clip
# (148 frames, 1080x1920 to 270x480): FFmpeg's default bicubic scaling 3.3 ms a frame, area
# averaging 1.2 ms (the right filter for a 4x reduction anyway); x264 "veryfast" 1.9 ms a
# frame, "ultrafast" 0.5 ms (the file about 7x larger: 166 kB for the 10 s, 24 kB before).
PREVIEW_SCALING = "AREA"
PREVIEW_PRESET = "ultrafast"


def _spread(image: Image.Image) -> float:
    """The spread of a frame's grey values, from every fourth pixel each way (a sample is
    enough to tell a detailed frame from a black or faded one, at a fifth of the cost)."""
    sample = image.resize((max(1, image.width // 4), max(1, image.height // 4)),
                          Image.Resampling.NEAREST)
    return float(np.asarray(sample.convert("L")).std())


def poster(images: list[Image.Image], long_side: int = 1280) -> bytes:
    """JPEG of the most detailed frame (largest spread of grey values, so not a black or
    faded frame), long side at most `long_side`, with no metadata at all."""
    if not images:
        raise ValueError("no frame to make a poster from")
    best = max(images, key=_spread)
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


class PreviewWriter:
    """The preview, encoded from frames offered one at a time in order of time: those of the
    first `preview_seconds`, at most PREVIEW_FPS a second."""

    def __init__(self, target: Path, limits: Limits) -> None:
        import av

        self.limits = limits
        self._out = av.open(str(target), "w", format="mp4",
                            options={"movflags": "+faststart", "fflags": "+bitexact"})
        self._stream = None
        self._size = (0, 0)
        self.written, self._next_t, self._pts = 0, 0.0, -1
        self._began = time.perf_counter()

    def wants(self, t: float) -> bool:
        """Whether a frame at `t` goes in (ask first: converting a frame costs more)."""
        return t < self.limits.preview_seconds and t + 1e-6 >= self._next_t

    def offer(self, t: float, frame: object) -> None:
        """A decoded video frame (scaled by FFmpeg, turned as players show it) or an RGB
        picture (an animation's); ignored unless `wants(t)`."""
        if self.wants(t):
            self._encode(t, self._picture(frame))

    def _picture(self, frame: object) -> object:
        """The frame as the preview shows it."""
        import av

        from app.video.frames import upright

        if isinstance(frame, Image.Image):
            return av.VideoFrame.from_image(frame)
        w, h = self._size if self._stream is not None else _even_fit(
            frame.width, frame.height, self.limits.preview_side)  # type: ignore[attr-defined]
        if (frame.rotation or 0) % 360:  # type: ignore[attr-defined]
            return av.VideoFrame.from_image(Image.fromarray(upright(frame, frame.to_ndarray(  # type: ignore[attr-defined]
                format="rgb24", width=w, height=h, interpolation=PREVIEW_SCALING))))
        # scaled straight into the encoder's format by FFmpeg: no RGB copy at all
        picture = frame.reformat(width=w, height=h, format="yuv420p",  # type: ignore[attr-defined]
                                 interpolation=PREVIEW_SCALING)
        picture.pict_type = av.video.frame.PictureType.NONE  # the encoder picks its own
        return picture

    def _encode(self, t: float, picture: object) -> None:
        """A picture `_picture` made, at `t` (which `wants`)."""
        self._next_t = t + 1 / PREVIEW_FPS
        self._open(picture.width, picture.height)  # type: ignore[attr-defined]
        if (picture.width, picture.height) != self._size:  # type: ignore[attr-defined]
            picture = picture.reformat(width=self._size[0], height=self._size[1],  # type: ignore[attr-defined]
                                       format="yuv420p", interpolation=PREVIEW_SCALING)
        # rounding never gives two frames one time
        self._pts = max(round(t * PREVIEW_FPS), self._pts + 1)
        picture.pts, picture.time_base = self._pts, Fraction(1, PREVIEW_FPS)  # type: ignore[attr-defined]
        for packet in self._stream.encode(picture):  # type: ignore[union-attr]
            self._out.mux(packet)
        self.written += 1

    def _open(self, width: int, height: int) -> None:
        """The preview's stream, sized from the first frame (later ones are fitted to it)."""
        if self._stream is None:
            self._size = _even_fit(width, height, self.limits.preview_side)
            stream = self._stream = self._out.add_stream("libx264", rate=PREVIEW_FPS)
            stream.width, stream.height, stream.pix_fmt = *self._size, "yuv420p"
            stream.codec_context.options = {"crf": str(PREVIEW_CRF),
                                            "preset": PREVIEW_PRESET}
            # one thread: the decoder's threads have the cores, and x264's own threads on a
            # picture this small cost more CPU than they save (0.44 s -> 0.34 s, same clip)
            stream.codec_context.thread_count = 1

    def close(self) -> dict:
        """Flush and close the file; ValueError when no frame was offered."""
        try:
            if self._stream is None:
                raise ValueError("no frame to make a preview from")
            for packet in self._stream.encode():
                self._out.mux(packet)
        finally:
            self._out.close()
        return {"frames": self.written,
                "seconds": round(time.perf_counter() - self._began, 3)}

    def abandon(self) -> None:
        """Close the file after a failure elsewhere (the job fails: nothing is kept)."""
        with contextlib.suppress(Exception):
            self._out.close()


def encode_preview(source: Path, info: VideoInfo, caps: Caps, limits: Limits,
                   target: Path, filename: str) -> dict:
    """The preview of the clip at `source`, written to `target`."""
    writer = PreviewWriter(target, limits)
    try:
        for t, frame in _frames(source, info, limits.preview_seconds):
            writer.offer(t, frame)
    except BaseException:
        writer.abandon()
        raise
    return writer.close()
