from pathlib import Path

import pytest

from app.video.caps import Caps
from app.video.probe import VideoInfo, check, duration_words, probe, problems
from app.video.refusal import Refusal
from app.video.sniff import sniff
from tests.video import clips


def _probe(tmp_path: Path, data: bytes, caps: Caps | None = None) -> VideoInfo:
    path = tmp_path / "input"
    path.write_bytes(data)
    found = sniff(data)
    assert found is not None
    return probe(path, found, caps or Caps(), "clip.mp4")


def test_a_short_clip_with_sound_is_within_every_cap(tmp_path):
    info = _probe(tmp_path, clips.small_clip(seconds=2, size=(96, 64), audio=True))
    assert (info.codec, info.width, info.height, info.fps, info.frames) == ("h264", 96, 64,
                                                                           15.0, 30)
    assert info.audio and info.streams == 2 and 1.9 < info.seconds < 2.2
    assert problems(info, Caps()) == []


def test_webm_vp9_and_animated_gif_are_read(tmp_path):
    webm = _probe(tmp_path, clips.small_clip(seconds=1, fmt="webm", codec="libvpx-vp9"))
    assert (webm.container, webm.codec) == ("webm", "vp9")
    gif = _probe(tmp_path, clips.gif(25))
    assert (gif.kind, gif.frames, gif.width) == ("animation", 25, 1)
    assert gif.seconds == pytest.approx(25 * 0.05)  # 5/100 s a frame, as written


def _info(**changes: object) -> VideoInfo:
    base = dict(container="mp4", kind="video", codec="h264", width=1080, height=1920,
                seconds=15.0, fps=30.0, frames=450, streams=2, video_streams=1, audio=True,
                size=10_000_000)
    return VideoInfo(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "message"), [
    ({"seconds": 36000.0}, "This video lasts 10 h; the limit is 3 min."),
    ({"seconds": 252.0}, "This video lasts 4 min 12 s; the limit is 3 min."),
    ({"width": 7680, "height": 4320},
     "Its frames are 7680×4320 pixels; the limit is 3840×2160, either way round."),
    ({"fps": 240.0}, "It runs at 240 frames a second; the limit is 120."),
    ({"streams": 5}, "It holds 5 streams (video, sound and others); the limit is 4."),
    ({"video_streams": 0}, "It holds no video stream."),
    ({"codec": "prores"}, "It is encoded as prores; accepted are H.264"),
    ({"frames": 30000}, "This video holds 30,000 frames; the limit is 21,600."),
    ({"container": "matroska"}, "A Matroska (MKV) file is not accepted"),
])
def test_each_cap_broken_is_said_in_words(changes, message):
    found = problems(_info(**changes), Caps())
    assert len(found) == 1 and found[0].startswith(message)


def test_portrait_4k_is_within_the_frame_cap():
    assert problems(_info(width=2160, height=3840), Caps()) == []


def test_check_names_the_file_and_every_problem():
    with pytest.raises(Refusal) as refused:
        check(_info(seconds=600.0, fps=1000.0), Caps(), "reel.mp4")
    assert refused.value.message.startswith("“reel.mp4” was refused: This video lasts 10 min")
    assert len(refused.value.problems) == 2


def test_durations_read_as_a_person_says_them():
    assert [duration_words(s) for s in (36000, 180, 252, 45, 2.5)] == [
        "10 h", "3 min", "4 min 12 s", "45 s", "2.5 s"]
