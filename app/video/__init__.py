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
  RGB, long side <= `limits.max_side`; plus `.decoded` and `.decode_seconds`. Runs in the
  sandbox (sandbox.py: a child process with wall-time, memory, CPU, output and frame caps);
  a hostile file gives `VideoRefused` with reason "timeout", "memory", "frames", "damaged" or
  "crashed", never an exception of its own and never a stalled caller.
- `poster(frames, long_side=1280) -> bytes`: metadata-free JPEG of the most detailed frame.
- `preview(data_or_path, filename, caps, limits) -> bytes`: H.264 MP4, at most 10 s and
  480 px on the long side, no sound, no metadata; encoded in the sandbox.

Only the poster and the preview are ever to be served; the caller keeps the original
encrypted, like a photo. `Caps` and `Limits` (caps.py) hold the defaults for a story or reel;
the lead maps them onto settings when wiring intake.
"""

from app.video.caps import Caps, Limits
from app.video.errors import VideoRefused
from app.video.probe import VideoInfo
from app.video.service import Frame, Sampled, inspect, poster, preview, sample

__all__ = ["Caps", "Frame", "Limits", "Sampled", "VideoInfo", "VideoRefused", "inspect",
           "poster", "preview", "sample"]
