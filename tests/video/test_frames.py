import io

import numpy as np
from PIL import Image

from app.video import sample
from app.video.selection import CUT_AT, Selector, difference, thumbnail
from tests.video import clips

SIZE = (160, 96)


def _two_scenes(seconds_each: float = 2.0, rate: int = 15) -> bytes:
    n = int(seconds_each * rate)
    # a pan at a steady pace: a quarter of the frame's width in two seconds
    first = clips.pan_frames(clips.scene(1, (SIZE[0] * 5 // 4, SIZE[1])), SIZE, n)
    second = clips.pan_frames(clips.scene(2, (SIZE[0] * 5 // 4, SIZE[1])), SIZE, n)
    return clips.encode(first + second, rate=rate, gop=1000)


def test_one_frame_a_second_with_its_time():
    got = sample(clips.small_clip(seconds=4, size=SIZE, rate=15, gop=1000), "pan.mp4")
    # the first reference frame at or after each second (B-frames are never decoded)
    assert len(got.frames) == 4
    assert all(k <= f.t < k + 0.2 for k, f in enumerate(got.frames))
    assert got.decoded < 60  # the non-reference frames were skipped
    assert got.frames[0].reason == "first+keyframe+second"
    assert [f.reason for f in got.frames[1:]] == ["second"] * 3
    assert all(f.image.size == SIZE and f.image.mode == "RGB" for f in got.frames)


def test_every_keyframe_is_sampled_and_near_ones_merge():
    # keyframes every 0.4 s: those within 0.25 s of a kept frame merge into it
    got = sample(clips.small_clip(seconds=2, size=SIZE, rate=15, gop=6), "gop.mp4")
    times = [f.t for f in got.frames]
    # the second mark lands on 1.067 (the reference frame after 1.0); the keyframe at 1.2,
    # 0.13 s later, merges into it
    assert times == [0.0, 0.4, 0.8, 1.067, 1.6]
    assert got.frames[3].reason == "second+keyframe"
    assert all("keyframe" in f.reason for f in got.frames)
    assert all(b - a >= 0.25 for a, b in zip(times, times[1:], strict=False))


def test_a_scene_cut_is_sampled_where_it_happens():
    got = sample(_two_scenes(), "cut.mp4")
    cuts = [f for f in got.frames if "cut" in f.reason]
    assert len(cuts) == 1 and 2.0 <= cuts[0].t <= 2.2
    assert "keyframe" not in cuts[0].reason  # found by the detector, not by the encoder
    # the frame after the cut shows the second scene, not the first
    expected = clips.scene(2, (SIZE[0] * 5 // 4, SIZE[1]))[:, :SIZE[0]].astype(int)
    assert np.abs(np.asarray(cuts[0].image).astype(int) - expected).mean() < 12


def test_pans_and_fades_are_not_cuts():
    picture = clips.scene(4, (200, 96))
    frames = clips.pan_frames(picture, SIZE, 60)
    faded = [(f * (1 - i / 80)).astype(np.uint8) for i, f in enumerate(frames)]
    thumbs = [thumbnail(np.asarray(Image.fromarray(f).convert("L"))) for f in faded]
    worst = max(difference(a, b) for a, b in zip(thumbs, thumbs[1:], strict=False))
    assert worst < CUT_AT


def test_selector_keeps_a_cut_right_after_a_sample():
    selector = Selector()
    flat = np.zeros((32, 32), np.float32)
    other = np.ones((32, 32), np.float32) * np.sign(np.arange(32) - 15.5)[None, :]
    assert selector.offer(0.0, True, flat) is not None
    kept = selector.offer(0.1, False, other)  # a cut 0.1 s later: a new scene, kept
    assert kept is not None and kept.reasons == ["cut"]
    assert selector.offer(0.2, True, other) is None  # a keyframe 0.1 s after it: merged
    assert selector.kept[-1].reasons == ["cut", "keyframe"]


def test_letterbox_bars_are_trimmed():
    inner = clips.pan_frames(clips.scene(6, (320, 90)), (160, 90), 30)
    boxed = [np.pad(f, ((35, 35), (0, 0), (0, 0))) for f in inner]  # 160x160, black bars
    got = sample(clips.encode(boxed, rate=15), "boxed.mp4")
    for frame in got.frames:
        w, h = frame.image.size
        assert w == 160 and 86 <= h <= 94


def test_animated_gif_and_webp_go_through_the_same_api():
    pictures = [Image.fromarray(clips.scene(i, (64, 48))) for i in range(8)]
    for fmt in ("GIF", "WEBP"):
        out = io.BytesIO()
        pictures[0].save(out, fmt, save_all=True, append_images=pictures[1:], duration=500,
                         loop=0)
        got = sample(out.getvalue(), f"anim.{fmt.lower()}")
        assert got.info.kind == "animation" and got.decoded == 8
        # eight different pictures, half a second each: each one is a cut
        assert [f.t for f in got.frames] == [i * 0.5 for i in range(8)]
        assert all(f.image.size == (64, 48) for f in got.frames)


def test_frames_are_at_most_max_side_long():
    from app.video import Limits

    got = sample(clips.small_clip(seconds=1, size=(640, 360)), "big.mp4",
                 limits=Limits(max_side=320))
    assert got.frames[0].image.size == (320, 180)


def test_a_phone_clip_filmed_portrait_is_sampled_upright():
    # stored landscape (top half white) with a display matrix turning it a quarter
    # counterclockwise, as players show it: portrait, the white half on the left
    frame = sample(clips.portrait(), "portrait.mp4").frames[0]
    assert frame.image.size == (96, 160)
    grey = np.asarray(frame.image.convert("L")).astype(int)
    assert grey[:, :40].mean() > 200 and grey[:, 56:].mean() < 50


def test_samples_past_the_limit_are_counted_not_hidden():
    from app.video import Limits

    got = sample(clips.small_clip(seconds=4, size=SIZE, gop=1000), "clip.mp4",
                 limits=Limits(max_samples=2))
    assert [f.t for f in got.frames][:1] == [0.0] and len(got.frames) == 2
    assert got.dropped == 2


def test_hevc_10_bit_like_an_iphone_is_sampled():
    frames = clips.pan_frames(clips.scene(1, (200, 96)), SIZE, 30)
    got = sample(clips.hevc_10_bit(frames), "IMG_0001.MOV")
    assert (got.info.codec, got.info.container) == ("hevc", "mp4")
    assert [f.reason for f in got.frames] == ["first+keyframe+second", "second"]
    first = np.asarray(got.frames[0].image).astype(int)
    assert np.abs(first - frames[0].astype(int)).mean() < 10
