"""A clip decoded in two segments at once samples exactly what one pass in order samples."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.video import Limits, VideoRefused, sample
from app.video.segments import Choice, Segment, select
from app.video.selection import Selector
from tests.video import clips

SIZE = (160, 96)


def _clip(seed: int, seconds: float, rate: int, gop: int, cuts: list[float]) -> bytes:
    """A pan across a scene that changes at each of `cuts` (seconds), a keyframe every
    `gop` frames (and none at the cuts)."""
    frames, scene_no = [], 0
    n = int(seconds * rate)
    pictures = [clips.scene(seed + k, (SIZE[0] * 5 // 4, SIZE[1])) for k in range(len(cuts) + 1)]
    pans = [clips.pan_frames(p, SIZE, n) for p in pictures]
    for i in range(n):
        scene_no = sum(1 for c in cuts if i / rate >= c)
        frames.append(pans[scene_no][i])
    return clips.encode(frames, rate=rate, gop=gop)


@pytest.mark.parametrize(("rate", "gop", "cuts"), [
    (15, 16, []),  # keyframes just after each second mark: merges across the split
    (15, 8, [2.0, 2.1, 2.6]),  # cuts close together near the middle
    (30, 20, [1.5, 3.0]),
    (15, 30, [2.0]),  # a cut on the split's keyframe
])
def test_two_segments_sample_what_one_pass_samples(rate: int, gop: int, cuts: list[float]):
    data = _clip(3, 4.0, rate, gop, cuts)
    one = sample(data, "clip.mp4", limits=Limits(threads=1))
    two = sample(data, "clip.mp4", limits=Limits(threads=2))
    assert [(f.t, f.reason) for f in two.frames] == [(f.t, f.reason) for f in one.frames]
    for a, b in zip(one.frames, two.frames, strict=True):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert two.decoded == one.decoded


def test_a_failure_in_the_later_segment_refuses_the_clip():
    data = _clip(5, 4.0, 15, 15, [])
    # frames past the cap on duration are only in the second half of the clip
    from app.video import Caps

    with pytest.raises(VideoRefused) as refused:
        sample(data, "clip.mp4", Caps(max_seconds=1.0), limits=Limits(threads=2))
    assert refused.value.reason in {"caps", "frames"}


def _frames(draw: st.DrawFn) -> list[tuple[float, bool, int]]:
    """(time, keyframe, scene) of a made-up clip: frames at uneven steps, keyframes and
    scene changes anywhere."""
    n = draw(st.integers(2, 60))
    steps = draw(st.lists(st.sampled_from([0.033, 0.067, 0.1, 0.2, 0.3, 1.1]), min_size=n,
                          max_size=n))
    keys = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    scenes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    t, out = 0.0, []
    for step, key, scene in zip(steps, keys, scenes, strict=True):
        out.append((round(t, 3), key, scene))
        t += step
    return out


THUMBS = [np.full((4, 4), 0, np.float32) + np.random.default_rng(k).normal(size=(4, 4))
          .astype(np.float32) for k in range(4)]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_segment_choices_always_hold_what_one_pass_keeps(data: st.DataObject):
    frames = data.draw(st.composite(_frames)())
    keyframes = [i for i, (_, key, _) in enumerate(frames) if key and i]
    split = data.draw(st.sampled_from(keyframes)) if keyframes else len(frames)
    whole = Selector()
    for t, key, scene in frames:
        whole.offer(t, key, THUMBS[scene])
    segments = [Segment(None, None), Segment(None, None)]
    stored: set[float] = set()
    for segment, part, later in ((segments[0], frames[:split], False),
                                 (segments[1], frames[split:], True)):
        choice = Choice(segment, syncing=later)
        for t, key, scene in part:
            if choice.offer(t, key, THUMBS[scene])[1]:
                stored.add(t)
    chosen = select(segments)
    assert [(k.t, k.reasons) for k in chosen] == [(k.t, k.reasons) for k in whole.kept]
    assert {k.t for k in whole.kept} <= stored
