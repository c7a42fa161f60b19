"""Video core: stories, reels, films and animated GIF/WebP as evidence (issue 12, part 1).

Not wired into intake or matching yet. Public API (app.video.service, re-exported here):

- `inspect(data, filename, caps=Caps(), *, content_type=None, limits=Limits()) -> VideoInfo`
  Sniffs the container from magic bytes (sniff.py; a name or declared type claiming another
  container is refused), then reads the header in the sandboxed child (probe.py: duration,
  frame size, rate, streams, codec, bytes, animation frames) and checks it against `caps`.
  Nothing is decoded. Raises `VideoRefused` (422, or 413 over the byte cap) whose message says
  what is wrong and `.problems` each cap broken, `.reason` a short key.
- `sample(data_or_path, filename, caps, limits) -> Sampled` with `.frames`:
  `list[Frame(t: float, image: PIL.Image, reason: str)]`: one frame a second, every keyframe
  and every scene cut, frames closer than 0.25 s merged, letterbox/pillarbox bars trimmed,
  RGB, long side <= `limits.max_side`; plus `.decoded` and `.decode_seconds` (a video up to
  2560x1440 is decoded in two segments at once, each from a keyframe on its own decoder
  thread, sampled as one pass in order would: segments.py). Runs in the
  sandbox (sandbox.py: a child process with wall-time, memory, CPU, output and frame caps);
  a hostile file gives `VideoRefused` with reason "timeout", "memory", "frames", "damaged" or
  "crashed", never an exception of its own and never a stalled caller.
- `poster(frames, long_side=1280) -> bytes`: metadata-free JPEG of the most detailed frame.
- `preview(data_or_path, filename, caps, limits, *, niceness=0) -> bytes`: H.264 MP4, at
  most 10 s and 480 px on the long side, no sound, no metadata; encoded in the sandbox (the
  match workers make it after a clip's frames are matched: app/matching/previews.py).

Only the poster and the preview are ever to be served; the caller keeps the original
encrypted, like a photo. `Caps` and `Limits` (caps.py) hold the defaults for a story or reel;
the lead maps them onto settings when wiring intake.
"""

from importlib import import_module
from typing import Any

# Loaded on first use: the decoding child imports this package too, and must not pay for the
# web stack that VideoRefused (an AppError) brings.
_EXPORTS = {"Caps": "caps", "Limits": "caps", "VideoRefused": "errors", "VideoInfo": "probe",
            "Frame": "service", "Sampled": "service", "inspect": "service",
            "poster": "service", "preview": "service", "sample": "service"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(import_module(f"app.video.{_EXPORTS[name]}"), name)
