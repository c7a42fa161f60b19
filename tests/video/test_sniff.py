import io

import pytest
from PIL import Image

from app.video.refusal import Refusal
from app.video.sniff import Sniffed, identify, sniff
from tests.video import clips


def _webp(frames: int) -> bytes:
    pictures = [Image.new("RGB", (32, 24), (i * 60, 0, 0)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "WEBP", save_all=frames > 1, append_images=pictures[1:],
                     duration=100)
    return out.getvalue()


def test_mp4_and_mov_are_told_apart_by_their_brand():
    mp4 = clips.small_clip(seconds=0.5)
    assert sniff(mp4) == Sniffed("video", "mp4")
    mov = clips.small_clip(seconds=0.5, fmt="mov")
    assert sniff(mov) == Sniffed("video", "mov")


def test_webm_and_matroska_are_told_apart_by_their_doctype():
    assert sniff(clips.small_clip(seconds=0.5, fmt="webm", codec="libvpx")) == Sniffed(
        "video", "webm")
    assert sniff(clips.small_clip(seconds=0.5, fmt="matroska")) == Sniffed("video", "matroska")


def test_gif_is_an_animation_only_with_more_than_one_frame():
    assert sniff(clips.gif(3)) == Sniffed("animation", "gif")
    assert sniff(clips.gif(1)) == Sniffed("still", "gif")


def test_webp_is_an_animation_only_with_an_anim_chunk():
    assert sniff(_webp(3)) == Sniffed("animation", "webp")
    assert sniff(_webp(1)) == Sniffed("still", "webp")


def test_heif_photo_and_unknown_bytes_are_not_video():
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32) is None
    assert sniff(b"") is None


def test_a_name_or_declared_type_claiming_another_container_is_refused():
    mkv = clips.small_clip(seconds=0.5, fmt="matroska")
    with pytest.raises(Refusal) as named:
        identify(mkv, "clip.mp4")
    assert named.value.reason == "claim"
    assert "named .mp4, as an MP4 video, but it is a Matroska (MKV) video" in named.value.message
    with pytest.raises(Refusal) as declared:
        identify(mkv, "clip", "video/mp4")
    assert "declared as video/mp4" in declared.value.message


def test_an_mp4_named_mov_is_one_family_and_accepted():
    mp4 = clips.small_clip(seconds=0.5)
    assert identify(mp4, "IMG_0001.MOV", "video/quicktime") == Sniffed("video", "mp4")
    assert identify(mp4, "upload.bin", "application/octet-stream") == Sniffed("video", "mp4")


def test_still_images_are_sent_to_the_photo_form():
    with pytest.raises(Refusal, match="a still image \\(send it as a photo\\)"):
        identify(clips.gif(1), "one.gif")
