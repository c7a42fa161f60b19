"""The issue's hostile inputs, each refused with a clear reason by the public API, no other
exception escaping. Every file is built here, small."""

import os

import pytest

from app.video import Caps, Limits, VideoRefused, inspect, sample
from tests.video import clips


def _refused(data: bytes, name: str, **kw: object) -> VideoRefused:
    with pytest.raises(VideoRefused) as refused:
        inspect(data, name, **kw)  # type: ignore[arg-type]
    with pytest.raises(VideoRefused) as again:  # decoding refuses it too, before decoding
        sample(data, name, **kw)  # type: ignore[arg-type]
    assert again.value.message == refused.value.message
    return refused.value


def test_truncated_mp4():
    whole = clips.small_clip(seconds=2)
    refused = _refused(whole[:len(whole) // 2], "cut.mp4")
    assert refused.status_code == 422 and refused.reason == "damaged"
    assert refused.message.startswith("“cut.mp4” is damaged or incomplete")


def test_truncated_mp4_whose_header_comes_first_fails_at_decoding():
    whole = clips.small_clip(seconds=2, faststart=True)
    with pytest.raises(VideoRefused) as refused:
        sample(whole[:len(whole) // 2], "cut.mp4")
    assert refused.value.reason == "damaged"
    assert "damaged or incomplete" in refused.value.message


def test_moov_declaring_ten_hours():
    refused = _refused(clips.patch_durations(clips.small_clip(seconds=1), 36000), "long.mp4")
    assert refused.problems == ["This video lasts 10 h; the limit is 3 min."]


def test_a_hundred_thousand_tiny_frames():
    refused = _refused(clips.many_tiny_frames(100_000, rate=1000), "tiny.mp4")
    assert "It runs at 1000 frames a second; the limit is 120." in refused.problems
    assert "This video holds 100,000 frames; the limit is 21,600." in refused.problems


def test_sixteen_k_frames():
    refused = _refused(clips.huge_frames(16000), "huge.webm")
    assert refused.problems == ["Its frames are 16000×16000 pixels; the limit is 3840×2160, "
                                "either way round."]


def test_gif_with_ten_thousand_frames():
    refused = _refused(clips.gif(10_000), "many.gif")
    assert refused.problems == ["This animation has more than 1,000 frames; the limit is "
                                "1,000."]


def test_mkv_claiming_to_be_mp4():
    refused = _refused(clips.small_clip(seconds=1, fmt="matroska"), "clip.mp4")
    assert refused.reason == "claim"
    assert "but it is a Matroska (MKV) video" in refused.message


def test_forty_streams():
    refused = _refused(clips.many_streams(40), "streams.mp4")
    assert refused.problems == ["It holds 40 streams (video, sound and others); the limit is 4."]


def test_random_bytes_named_mp4():
    refused = _refused(os.urandom(64 * 1024), "random.mp4")
    assert refused.reason == "type"
    assert refused.message.startswith("“random.mp4” is not a video we recognise")


def test_over_the_byte_cap_is_413_before_anything_is_read():
    refused = _refused(clips.small_clip(seconds=1), "big.mp4", caps=Caps(max_bytes=1000))
    assert refused.status_code == 413
    assert "the limit is 0.0 MB per video" in refused.message


def test_decoding_stops_at_the_frame_cap_even_when_the_header_passes():
    lax = Caps(max_fps=2000, max_frames=10**6)
    with pytest.raises(VideoRefused) as refused:
        sample(clips.many_tiny_frames(3000, rate=1000), "tiny.mp4", caps=lax,
               limits=Limits(max_decoded_frames=500))
    assert refused.value.reason == "frames"
    assert "more than 500 frames; decoding was stopped" in refused.value.message


def test_a_video_whose_header_gives_no_duration_is_stopped_at_the_cap_while_decoding():
    recording = clips.live_webm(clips.pan_frames(clips.scene(1, (200, 96)), (160, 96), 45))
    assert inspect(recording, "rec.webm").seconds is None  # nothing to refuse from the header
    with pytest.raises(VideoRefused) as refused:
        sample(recording, "rec.webm", caps=Caps(max_seconds=1))
    assert refused.value.message == ("“rec.webm” runs longer than the limit of 1 s (its header "
                                     "does not say how long).")
    assert len(sample(recording, "rec.webm").frames) == 3  # within the default cap: 3 s
