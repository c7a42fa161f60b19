"""A clip's frames through the product's path, for bench/video_matching.py and video_speed.py.

`app.video.sample` (the sandboxed decode: one frame a second, every keyframe and cut, bars
trimmed), then each frame as the match workers store and analyse it: a lossless PNG
(app/matching/sampling.py keeps it so), its hashes as intake stores them and its local
features as a frame's second stage computes them (`hashing.frame_features`), the first
stage (`MatchEngine.near_duplicates`) and the second (`MatchEngine.shortlist`, then
`app.matching.service.scored` at the verify threshold in force).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from app.matching.engine import MatchEngine
from app.video import Frame

DISPLAY_LONG_SIDE = 1600  # CELLWATCH_DISPLAY_LONG_SIDE's default: analyse_stored decodes to it


class BenchEngine(MatchEngine):
    """The product's MatchEngine over an in-memory library (no database to refresh from)."""

    def refresh(self, caller: object) -> None:  # type: ignore[override]
        return None


def png(frame: Frame) -> bytes:
    """The frame's stored original, exactly as the match workers store it."""
    from app.matching.sampling import frame_png

    return frame_png(frame)


def analyse(data: bytes) -> tuple[SimpleNamespace, bytes]:
    from app.evidence.derive import analyse_stored

    a = analyse_stored(data, long_side=DISPLAY_LONG_SIDE)
    return SimpleNamespace(id=None, phash=a.hashes.phash, phash_mirror=a.hashes.phash_mirror,
                           phash_trim=a.hashes.phash_trim), a.features


def analyse_frame(data: bytes) -> tuple[SimpleNamespace, bytes]:
    """A sampled frame as the match workers analyse it: hashes as intake stores them, local
    features as a frame's second stage computes them (`features_of(..., frame=True)`)."""
    from app.evidence.hashing import compute_hashes, frame_features

    h = compute_hashes(data)
    return SimpleNamespace(id=None, phash=h.phash, phash_mirror=h.phash_mirror,
                           phash_trim=h.phash_trim), frame_features(data)


@dataclass
class FrameResult:
    t: float
    reason: str
    size: tuple[int, int]
    near: list[int]  # linked by the first stage
    scores: dict[int, int]  # shortlisted candidate -> verify score
    linked: list[int]  # near + scores at the threshold
    image: SimpleNamespace = field(repr=False)
    features: bytes = field(repr=False)


def match(engine: MatchEngine, blobs: object, image: SimpleNamespace, features: bytes
          ) -> tuple[list[int], dict[int, int], list[int]]:
    from app.matching.service import scored

    near = sorted({h.image_id for h in engine.near_duplicates(None, image, refresh=False)})
    shortlist = engine.shortlist(None, image, features)  # type: ignore[arg-type]
    scores = {h.image_id: s for h, s in scored(features, shortlist, blobs)}  # type: ignore[arg-type]
    passed = {i for i, s in scores.items() if s >= engine.limits.verify_min_score}
    return near, scores, sorted(set(near) | passed)


def sample_frames(data: bytes, filename: str) -> tuple[list, float]:
    """The sampled frames, and the child's own decode-and-select seconds."""
    from app.video import sample

    got = sample(data, filename)
    return got.frames, got.decode_seconds


def clip_results(engine: MatchEngine, blobs: object, data: bytes,
                 filename: str) -> list[FrameResult]:
    out = []
    for frame in sample_frames(data, filename)[0]:
        image, features = analyse_frame(png(frame))
        near, scores, linked = match(engine, blobs, image, features)
        out.append(FrameResult(frame.t, frame.reason, frame.image.size, near, scores, linked,
                               image, features))
    return out


def clip_pass(engine: MatchEngine, blobs: object, analysed: list, linked: set[int]
              ) -> set[int]:
    """What app/matching/frame_sets.clip_pass does once a clip's frames are matched: every
    frame's short list again, then its candidates verified on every frame; the ids it links."""
    from app.evidence.hashing import verify_features
    from app.matching import frame_sets

    shortlists = [[h.image_id for h in engine.shortlist(None, image, features)]  # type: ignore[arg-type]
                  for image, features in analysed]
    found = set()
    for i in frame_sets.candidates(shortlists, linked):
        blob = blobs.get(i)  # type: ignore[attr-defined]
        if blob is None:
            continue
        scores = [verify_features(f, blob, mirrored=True) for _, f in analysed]
        if frame_sets.decide(scores, engine.limits.verify_min_score):
            found.add(i)
    return found


class _Clock:
    """Wall and CPU seconds (this process) per part."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._at = (0.0, 0.0)

    def start(self) -> None:
        self._at = (time.perf_counter(), time.process_time())

    def stop(self, part: str) -> None:
        w, c = self._at
        self.wall[part] = self.wall.get(part, 0.0) + time.perf_counter() - w
        self.cpu[part] = self.cpu.get(part, 0.0) + time.process_time() - c


def timed_clip(engine: MatchEngine, blobs: object, data: bytes) -> dict:
    """Bytes to every frame matched, in parts: sample; PNG (as the match workers
    store a frame); analysis, first stage and second stage of every frame. Also what linked."""
    from app.matching.service import scored

    clock = _Clock()
    began = time.perf_counter(), time.process_time()
    clock.start()
    frames, child = sample_frames(data, "clip.mp4")
    clock.stop("sample")
    linked: set[int] = set()
    analysed = []
    for frame in frames:
        clock.start()
        stored = png(frame)
        clock.stop("png")
        clock.start()
        image, features = analyse_frame(stored)
        clock.stop("analysis")
        clock.start()
        near = engine.near_duplicates(None, image, refresh=False)  # type: ignore[arg-type]
        clock.stop("first_stage")
        clock.start()
        shortlist = engine.shortlist(None, image, features)  # type: ignore[arg-type]
        scores = scored(features, shortlist, blobs)  # type: ignore[arg-type]
        clock.stop("second_stage")
        linked |= {h.image_id for h in near}
        linked |= {h.image_id for h, s in scores if s >= engine.limits.verify_min_score}
        analysed.append((image, features))
    clock.start()
    linked |= clip_pass(engine, blobs, analysed, linked)
    clock.stop("clip_pass")
    clock.wall["total"] = time.perf_counter() - began[0]
    clock.cpu["total"] = time.process_time() - began[1]
    # the sampling child's CPU is not this process's: count its own decode time as CPU
    clock.cpu["sample"] += child
    clock.cpu["total"] += child
    return {"wall": clock.wall, "cpu": clock.cpu, "child_decode": child,
            "frames": len(frames), "linked": linked}
