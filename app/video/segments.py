"""Decoding a clip in segments at once: one decoder per segment, each on its own thread, each
segment starting at a keyframe (inside the decoding child, see frames.py).

Why: FFmpeg's own threads barely help the decode that sampling needs. Frame threads wait on
each other along a chain of reference frames (non-reference frames are skipped), and slice
threads need a clip encoded in slices, which phones' clips are not: on the speed bench's
15 s 1080x1920 clip re-encoded in one slice a frame, 1.29 s wall with 2 frame threads against
1.30 s with one thread. Two decoders on two halves, each one thread, give about 2x: a
decoder releases the GIL while it decodes.

Selection stays exactly as one pass in order would make it. Each segment runs its own
Selector and records every decoded frame's flags (time, keyframe, first, cut); the clip's
samples are then chosen again in order from those flags (`select`), the first frame of a
later segment compared with the last frame of the one before. A later segment's own
choice can differ from that only near its start (which sample its first frames merge
into), so until the first frame with a reason that comes `Selector.merge` seconds after the
previous one (from there on both choices agree), it stores every frame with a reason, kept
or merged: the frames chosen in order are always among those stored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.video.caps import Caps, Limits
from app.video.frames import Sink, fit, luma, too_long, upright
from app.video.probe import DEMUXERS, VideoInfo
from app.video.refusal import Refusal
from app.video.selection import Kept, Selector, difference, thumbnail

# Two decoders hold two sets of reference frames: above this a clip is decoded in one piece
# (a 4K or 10-bit HDR clip's frames would crowd the child's memory limit).
SPLIT_MAX_PIXELS = 2560 * 1440


@dataclass
class Segment:
    """Frames from the keyframe with pts `begin` (None: the clip's start) up to the keyframe
    with pts `end` (None: the clip's end)."""

    begin: int | None
    end: int | None
    records: list[tuple[float, bool, bool, bool]] = field(default_factory=list)
    first_thumb: np.ndarray | None = None
    last_thumb: np.ndarray | None = None
    stored: int = 0
    decoded: int = 0
    spent: float = 0.0

    def holds(self, pts: int | None) -> bool:
        """Frames outside it (an open GOP's leading frames, shown before its keyframe) belong
        to the segment before, which stopped at that keyframe: neither decodes them whole."""
        if pts is None:
            return True
        return (self.begin is None or pts >= self.begin) and (self.end is None or pts < self.end)


@dataclass
class Shared:
    """What the segments' threads share: the packet count (against the decode limit) and a
    stop flag (one segment failed: the others need not go on)."""

    packets: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    stop: threading.Event = field(default_factory=threading.Event)


def split_points(path: Path, info: VideoInfo, limits: Limits) -> list[int]:
    """The pts of the keyframes where segments after the first begin: nearest to equal
    shares of the clip's packets. Empty: decode in one piece (one thread allowed, a large
    picture, a single keyframe, packets without times, more packets than may be decoded)."""
    import av

    parts = limits.threads
    if parts < 2 or info.width * info.height > SPLIT_MAX_PIXELS:
        return []
    keys: list[tuple[int, int]] = []  # (packets before it, pts)
    n = 0
    with av.open(str(path), format=DEMUXERS[info.container]) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's closing empty packet
                continue
            if packet.pts is None:
                return []
            if packet.is_keyframe and n:
                keys.append((n, packet.pts))
            n += 1
            if n > limits.max_decoded_frames:
                return []  # the decode refuses it, in one piece as ever
    picks: list[int] = []
    for i in range(1, parts):
        goal = n * i / parts
        best = min(keys, key=lambda k: abs(k[0] - goal), default=None)
        if best is not None and best[1] not in picks:
            picks.append(best[1])
    return sorted(picks)


def segments_of(points: list[int]) -> list[Segment]:
    bounds: list[int | None] = [None, *points, None]
    return [Segment(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def select(segments: list[Segment]) -> list[Kept]:
    """The clip's samples as one pass in order would choose them, from each segment's
    recorded flags."""
    selector = Selector()
    previous: np.ndarray | None = None
    for segment in segments:
        for i, (t, keyframe, first, cut) in enumerate(segment.records):
            if i == 0 and previous is not None:  # it follows the last frame decoded before
                assert segment.first_thumb is not None
                first, cut = False, difference(segment.first_thumb, previous) > selector.cut_at
            selector.decide(t, keyframe, first=first, cut=cut)
        if segment.records:
            previous = segment.last_thumb
    return selector.kept


def run_segments(segments: list[Segment], decode_one: Callable[[Segment], None],
                 shared: Shared) -> None:
    """`decode_one(segment)` for every segment, the first on this thread and the others on
    their own; the first failure is raised once every thread has stopped."""
    if len(segments) == 1:
        decode_one(segments[0])
        return
    with ThreadPoolExecutor(len(segments) - 1, thread_name_prefix="segment") as pool:
        later = [pool.submit(_guarded, decode_one, s, shared) for s in segments[1:]]
        try:
            _guarded(decode_one, segments[0], shared)
        finally:
            errors = [f.exception() for f in later]  # waits for each
        for error in errors:
            if error is not None:
                raise error


def _guarded(decode_one: Callable[[Segment], None], segment: Segment, shared: Shared) -> None:
    try:
        decode_one(segment)
    except BaseException:
        shared.stop.set()
        raise


def too_many(limits: Limits, filename: str) -> Refusal:
    return Refusal(f"“{filename}” holds more than {limits.max_decoded_frames:,} frames; "
                   "decoding was stopped.", reason="frames")


@dataclass
class Choice:
    """A segment's own selection as it decodes: each frame offered is recorded, and `offer`
    says whether to store it (module docstring: a later segment stores more near its
    start, until its choice and the clip's agree)."""

    segment: Segment
    syncing: bool  # a later segment, near its start
    selector: Selector = field(default_factory=Selector)
    last_reason: float | None = None

    def offer(self, t: float, keyframe: bool, thumb: np.ndarray) -> tuple[Kept | None, bool]:
        """(the segment's own sample, or None; whether to store the frame)."""
        first, cut = self.selector.compare(thumb)
        self.segment.records.append((t, keyframe, first, cut))
        if self.segment.first_thumb is None:
            self.segment.first_thumb = thumb
        self.segment.last_thumb = thumb
        kept = self.selector.decide(t, keyframe, first=first, cut=cut)
        reason = self.selector.had_reasons
        if self.syncing and reason:
            if self.last_reason is not None and t - self.last_reason >= self.selector.merge:
                self.syncing = False  # from here on its choice is the clip's
            self.last_reason = t
        return kept, kept is not None or (self.syncing and reason)


def sample_video(path: Path, info: VideoInfo, caps: Caps, limits: Limits, sink: Sink,
                 filename: str) -> dict:
    points = split_points(path, info, limits)
    segments = segments_of(points)
    shared = Shared()
    threads = 1 if points else limits.threads  # one decoder a core, or FFmpeg's threads

    def decode_one(segment: Segment) -> None:
        _decode(path, info, caps, limits, sink, filename, segment, shared, threads,
                syncing=segment is not segments[0])

    run_segments(segments, decode_one, shared)
    sink.finish(select(segments))
    stats = {"decoded": sum(s.decoded for s in segments),
             "packets": next(shared.packets) - 1,
             # the segments decode at once: the longest is the decoding's wall time
             "decode_seconds": round(max(s.spent for s in segments), 4),
             "dropped": sink.dropped, "segments": len(segments)}
    return stats


def _decode(path: Path, info: VideoInfo, caps: Caps, limits: Limits, sink: Sink,
            filename: str, segment: Segment, shared: Shared, threads: int, *,
            syncing: bool) -> None:
    """One segment's decode and its own selection. `syncing`: a later segment, which stores
    every frame with a reason until its choice and the clip's agree (module docstring)."""
    import av

    choice = Choice(segment, syncing)
    with av.open(str(path), format=DEMUXERS[info.container]) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        ctx.thread_count, ctx.thread_type = threads, "AUTO"
        ctx.skip_frame = "NONREF"
        # from the pts: frames drained at a segment's end carry no time base of their own
        base, start = stream.time_base, stream.start_time or 0
        started = segment.begin is None
        for packet in container.demux(stream):
            if shared.stop.is_set():
                return
            if not started:  # read past, not decoded: the segment before decodes these
                started = packet.is_keyframe and packet.pts == segment.begin
                if not started:
                    continue
            last = segment.end is not None and packet.is_keyframe and packet.pts == segment.end
            if not last and next(shared.packets) > limits.max_decoded_frames:
                raise too_many(limits, filename)
            began = time.perf_counter()
            frames = ctx.decode(None) if last else packet.decode()  # None: drain the decoder
            segment.spent += time.perf_counter() - began
            for frame in frames:
                if not segment.holds(frame.pts):
                    continue
                segment.decoded += 1
                t = float((frame.pts - start) * base) if frame.pts is not None and base else 0.0
                if t > caps.max_seconds + 1:
                    raise too_long(info, caps, filename)
                began = time.perf_counter()
                kept, store = choice.offer(t, frame.key_frame, thumbnail(luma(frame)))
                if store and segment.stored < sink.limit:
                    w, h = fit(frame.width, frame.height, limits.max_side)
                    sink.add(t, kept.reasons if kept else [], upright(
                        frame, frame.to_ndarray(format="rgb24", width=w, height=h)))
                    segment.stored += 1
                segment.spent += time.perf_counter() - began
            if last:
                return
    if not started:  # never, the first pass having found it: but never lose half a clip
        raise RuntimeError(f"the keyframe at pts {segment.begin} was not found again")
