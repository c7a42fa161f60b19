"""Which decoded frames to keep: one a second, every keyframe, every scene cut, with frames
closer than MERGE_SECONDS merged. Pure: fed one frame at a time (its time, whether it is a
keyframe, a small grey thumbnail), it says whether to keep it and why.

The cut detector compares 32x32 grey thumbnails of consecutive decoded frames, each scaled to
zero mean and unit spread (so a change of exposure, a fade or a dim scene does not decide it):
their mean absolute difference. CUT_AT was read off 54 real photographs (bench/photo_sources):
consecutive frames of portrait pans across each, at the benchmark's speed (its width in 15 s)
and fast (in 2 s), against pairs of different photographs: pans p99 0.55, max 0.69; cuts p1
0.75, min 0.55 (`python -m bench.video_decode` measures it again). A false cut costs one more
sample; a missed one is still caught by the next sample a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

THUMB = 32
CUT_AT = 0.6
MERGE_SECONDS = 0.25


def thumbnail(grey: np.ndarray) -> np.ndarray:
    """A THUMB x THUMB (at most) float32 thumbnail of a uint8 grey picture, zero mean and unit
    spread (a flat picture's spread counts as 4 grey levels, so its noise is not amplified)."""
    h, w = grey.shape
    step = max(1, min(h, w) // (THUMB * 4))  # subsample first: block means of a quarter
    g = grey[::step, ::step]
    h, w = g.shape
    by, bx = max(h // THUMB, 1), max(w // THUMB, 1)
    ny, nx = min(h // by, THUMB), min(w // bx, THUMB)
    t = g[:ny * by, :nx * bx].reshape(ny, by, nx, bx).mean(axis=(1, 3), dtype=np.float32)
    t = t - t.mean()
    return t / max(float(t.std()), 4.0)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return 1.0  # the picture size changed: a new scene as far as sampling goes
    return float(np.abs(a - b).mean())


@dataclass
class Kept:
    t: float
    reasons: list[str]


@dataclass
class Selector:
    every: float = 1.0
    cut_at: float = CUT_AT
    merge: float = MERGE_SECONDS
    kept: list[Kept] = field(default_factory=list)
    _next_mark: float = 0.0
    _previous: np.ndarray | None = None
    had_reasons: bool = False  # whether the last frame offered had a reason (kept or merged)

    def offer(self, t: float, keyframe: bool, thumb: np.ndarray) -> Kept | None:
        """The frame's reasons when it is to be kept as a new sample; None when it is not
        (or when it merges into the sample just kept, whose reasons then grow)."""
        first, cut = self.compare(thumb)
        return self.decide(t, keyframe, first=first, cut=cut)

    def compare(self, thumb: np.ndarray) -> tuple[bool, bool]:
        """(first, cut) for the frame with this thumbnail, which becomes the one before."""
        first = self._previous is None
        cut = not first and difference(thumb, self._previous) > self.cut_at
        self._previous = thumb
        return first, cut

    def decide(self, t: float, keyframe: bool, *, first: bool, cut: bool) -> Kept | None:
        """`offer` once the frame's comparison with the one before is known (a clip decoded
        in segments is selected again from these flags: segments.py)."""
        reasons = ["first"] if first else ["cut"] if cut else []
        if keyframe:
            reasons.append("keyframe")
        if t >= self._next_mark - 1e-6:
            reasons.append("second")
            self._next_mark = (int(t / self.every + 1e-6) + 1) * self.every
        self.had_reasons = bool(reasons)
        if not reasons:
            return None
        last = self.kept[-1] if self.kept else None
        if last is not None and t - last.t < self.merge and not (
                "cut" in reasons and "cut" not in last.reasons):
            last.reasons += [r for r in reasons if r not in last.reasons]
            return None
        kept = Kept(t, reasons)
        self.kept.append(kept)
        return kept
