"""The benchmark's clips are what they claim to be, as the product's sampling sees them."""

import io

import cv2
import numpy as np

from app.video import sample
from bench import video_clips as vc


def _picture(seed: int) -> np.ndarray:
    """A smooth picture (colour gradients): a pan across it has no cut in it."""
    small = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (1600, 1200), interpolation=cv2.INTER_CUBIC)


def _clip(kind: str, seconds: float, codec: str = "h264") -> bytes:
    picture, filler = _picture(11), _picture(12)
    buf = io.BytesIO()
    s = vc.ClipSpec("test", kind, codec, seconds, seed=5)
    vc.encode(vc.clip_frames(s, picture, filler), codec, vc.BIT_RATE, buf)
    return buf.getvalue()


def test_letterboxed_clip_is_sampled_as_its_16_9_picture():
    got = sample(_clip("letterbox", 2, codec="vp9"), "letterbox.webm")
    assert got.info.width == vc.W and got.info.height == vc.H
    # the black bars above and below are trimmed: a 16:9 picture is left
    assert {f.image.size for f in got.frames} == {(720, 408)}


def test_middle_3s_clip_shows_the_cell_between_two_cuts():
    got = sample(_clip("middle_3s", 9), "middle.mp4")
    cuts = [round(f.t) for f in got.frames if "cut" in f.reason]
    assert cuts == [3, 6]


def test_repost_trim_keeps_the_middle_and_letterbox_puts_bars_at_the_sides():
    frames = [np.full((vc.H, vc.W, 3), i, np.uint8) for i in range(10)]
    assert [int(f[0, 0, 0]) for f in vc.repost_frames("trim", frames, 1)] == [3, 4, 5, 6]
    wide = vc.repost_frames("letterbox", frames[5:6], 1)[0]
    assert wide.shape == (720, 1280, 3)
    assert wide[:, :400].max() == 0 and wide[:, -400:].max() == 0
    assert (wide[:, 640] == 5).all()
