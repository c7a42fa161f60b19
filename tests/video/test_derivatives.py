import io

import av
from PIL import Image

from app.video import Limits, poster, preview, sample
from tests.video import clips

SECRET = {"title": "Cell A-1-014", "location": "+51.5074-000.1278/", "comment": "phone 7"}


def test_poster_is_a_metadata_free_jpeg_of_a_detailed_frame():
    frames = sample(clips.small_clip(seconds=2, size=(320, 180)), "clip.mp4").frames
    black = type(frames[0])(t=9.0, image=Image.new("RGB", (320, 180)), reason="cut")
    data = poster([black, *frames], long_side=200)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and max(img.size) == 200
        assert not img.getexif() and "icc_profile" not in img.info
        assert img.convert("L").getextrema()[1] > 60  # not the black frame


def test_preview_is_short_small_silent_and_without_metadata():
    source = clips.small_clip(seconds=12, size=(640, 360), rate=10, audio=True,
                              metadata=SECRET)
    assert b"A-1-014" in source
    data = preview(source, "clip.mp4")
    for value in SECRET.values():
        assert value.encode() not in data
    assert b"Lavf" not in data  # not even the muxer's name
    with av.open(io.BytesIO(data)) as out:
        assert [s.type for s in out.streams] == ["video"]
        stream = out.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 480, 270)
        assert not {k for k in out.metadata if k not in ("major_brand", "minor_version",
                                                        "compatible_brands")}
        frames = list(out.decode(stream))
    times = [f.time for f in frames]
    assert 9.5 <= times[-1] < 10.0  # the first 10 s of 12
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) <= 0.3  # smooth enough


def test_preview_of_an_animation_and_its_limits():
    pictures = [Image.fromarray(clips.scene(i, (200, 100))) for i in range(4)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=250)
    data = preview(out.getvalue(), "anim.gif", limits=Limits(preview_side=100))
    with av.open(io.BytesIO(data)) as clip:
        stream = clip.streams.video[0]
        assert (stream.width, stream.height) == (100, 50)
        assert sum(1 for _ in clip.decode(stream)) == 4


def test_preview_of_a_portrait_phone_clip_is_upright():
    with av.open(io.BytesIO(preview(clips.portrait(), "portrait.mp4"))) as clip:
        frame = next(clip.decode(video=0))
        assert (frame.width, frame.height) == (96, 160) and not frame.rotation
        grey = frame.to_ndarray(format="gray").astype(int)
        assert grey[:, :40].mean() > 200 and grey[:, 56:].mean() < 50

