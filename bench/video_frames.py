"""A clip's frames through the product's path, for bench/video_matching.py and video_speed.py.

`app.video.sample` (the sandboxed decode: one frame a second, every keyframe and cut, bars
trimmed), then each frame as the match workers store and analyse it: a lossless PNG
(app/matching/sampling.py keeps it so), its hashes and local features made from the frame's
pixels as the worker makes them (`sampling.derive_frames`; a frame's features at the frame scale,
`hashing.frame_features`: the PNG is lossless, so the same), the first
stage (`MatchEngine.near_duplicates`) and the second (`MatchEngine.shortlist`, then
`app.matching.service.scored` at the verify threshold in force). `timed_clip` times the
worker's own steps (sampling.derive_frames: on the decode threads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from app.matching import clip_look
from app.matching.engine import MatchEngine
from app.video import Frame

FRAME_IDS = 10**12  # the timed clip's frames: ids above any library's
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
    frame: object = field(default=None, repr=False)  # the sampled pixels (PIL), for a look
    nearly: list[int] = field(default_factory=list)  # clip_look.near_ids of its own stage


def match(engine: MatchEngine, blobs: object, image: SimpleNamespace, features: bytes
          ) -> tuple[list[int], dict[int, int], list[int], list[int]]:
    """(first-stage links, shortlisted id -> score, every link, what the frame nearly
    linked: `clip_look.near_ids`, as the match worker keeps it for the clip pass)."""
    from app.matching.service import scored

    near = sorted({h.image_id for h in engine.near_duplicates(None, image, refresh=False)})
    shortlist = engine.shortlist(None, image, features)  # type: ignore[arg-type]
    rows = scored(features, shortlist, blobs)  # type: ignore[arg-type]
    scores = {h.image_id: s for h, s in rows}
    passed = {i for i, s in scores.items() if s >= engine.limits.verify_min_score}
    return near, scores, sorted(set(near) | passed), clip_look.near_ids(rows)


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
        near, scores, linked, nearly = match(engine, blobs, image, features)
        out.append(FrameResult(frame.t, frame.reason, frame.image.size, near, scores, linked,
                               image, features, frame.image, nearly))
    return out


def display_picture(picture: object) -> object:
    """The working image the second look reads from a picture's display copy, as a match
    worker does (second_look.stored_pictures): the display JPEG, then its working image."""
    from app.evidence import sift
    from app.evidence.derive import decode_picture

    shown = decode_picture(picture, "x.png", long_side=DISPLAY_LONG_SIDE,  # type: ignore[arg-type]
                           features=False).display
    return sift.working_content(shown)


def clip_pass(engine: MatchEngine, blobs: object, analysed: list, near: list[list[int]],
              linked: set[int], displays: list[bytes] | None = None,
              photos: object = None) -> set[int]:
    """What app/matching/frame_sets.clip_pass does once a clip's frames are matched: every
    frame's short list (kept from its own second stage when the frame has an id, as a held
    frame has) and what its own stage nearly linked (`near`: clip_look.near_ids, as the
    worker keeps it), the candidates verified on every frame
    (app/matching/clip_look.py), with the second look given the frames' display copies and
    `photos` (id -> working image); the ids it links."""
    from app.evidence import sift
    from app.matching import frame_sets

    shortlists = [[h.image_id for h in engine.kept_shortlist(None, image, features)]  # type: ignore[arg-type]
                  for image, features in analysed]
    chosen = frame_sets.candidates(shortlists, linked)
    wanted = set(chosen) | {i for v in near for i in v}
    theirs = {i: b for i in wanted if (b := blobs.get(i)) is not None}  # type: ignore[attr-defined]
    looked: dict[int, object] = {}

    def frame(k: int, _mirrored: bool) -> object:
        if k not in looked and displays is not None:
            looked[k] = sift.working_content(displays[k])
        return looked.get(k)

    weighed = clip_look.weigh([f for _, f in analysed], chosen, near, linked, theirs,
                              lambda s: frame_sets.decide(s, engine.limits.verify_min_score),
                              engine.limits.second_look_from,
                              frame if displays is not None else None,  # type: ignore[arg-type]
                              photos)  # type: ignore[arg-type]
    return {i for i, w in weighed.items() if w.method}


class _Clock:
    """Wall and CPU seconds (this process, all its threads) per part."""

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


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the sandboxed decoding child)."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed_clip(engine: MatchEngine, blobs: object, data: bytes, photos: object = None) -> dict:
    """Bytes to every frame matched, in parts, as a match worker does it (app/matching/
    sampling.py): the sandboxed child samples the frames (the preview is a job of its own,
    made after the matching: app/matching/previews.py); the poster; each frame's stored PNG,
    display copy, hashes and features from its pixels, on
    the decode threads (`derive_frames`); then the first stage and the second (shortlist,
    verification) of every frame, and the clip pass (the frames' short lists kept from their
    second stages, as in the match worker). Also what linked. The database and the
    sealing are left out."""
    from app.matching.sampling import derive_frames
    from app.matching.service import scored
    from app.settings import Settings
    from app.video import poster, sample

    settings = Settings()
    clock = _Clock()
    began = time.perf_counter(), time.process_time(), _children_cpu()
    clock.start()
    got = sample(data, "clip.mp4")
    clock.stop("sample")
    child = _children_cpu() - began[2]
    clock.start()
    poster(got.frames)
    clock.stop("poster")
    clock.start()
    derived = derive_frames(settings, got.frames, ["clip.mp4 frame"] * len(got.frames))
    clock.stop("frames")
    linked: set[int] = set()
    analysed, near_ids = [], []
    for k, (_, decoded) in enumerate(derived):
        a = decoded.analysis
        # an id as a held frame has (none of the library's): its short list is kept for the
        # clip pass, as the match worker keeps it (MatchEngine.kept_shortlist)
        image = SimpleNamespace(id=FRAME_IDS + k, phash=a.hashes.phash,
                                phash_mirror=a.hashes.phash_mirror, phash_trim=a.hashes.phash_trim)
        clock.start()
        near = engine.near_duplicates(None, image, refresh=False)  # type: ignore[arg-type]
        clock.stop("first_stage")
        clock.start()
        shortlist = engine.shortlist(None, image, a.features)  # type: ignore[arg-type]
        clock.stop("shortlist")
        clock.start()
        scores = scored(a.features, shortlist, blobs)  # type: ignore[arg-type]
        clock.stop("verification")
        linked |= {h.image_id for h in near}
        linked |= {h.image_id for h, s in scores if s >= engine.limits.verify_min_score}
        analysed.append((image, a.features))
        near_ids.append(clip_look.near_ids(scores))  # what the worker keeps (kept_near)
    clock.start()
    linked |= clip_pass(engine, blobs, analysed, near_ids, linked,
                        [d.display for _, d in derived], photos)
    clock.stop("clip_pass")
    clock.wall["total"] = time.perf_counter() - began[0]
    clock.cpu["total"] = time.process_time() - began[1]
    # the sampling child's CPU is not this process's: add it (all its threads)
    clock.cpu["sample"] += child
    clock.cpu["total"] += child
    return {"wall": clock.wall, "cpu": clock.cpu, "child_decode": got.decode_seconds,
            "frames": len(got.frames), "linked": linked}
