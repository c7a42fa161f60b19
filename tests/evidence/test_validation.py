"""Upload checks, EXIF extraction and the display copy: pure, no database."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from app.errors import PayloadTooLarge, Unprocessable
from app.evidence.derive import decode
from app.evidence.errors import UnsupportedImageType
from app.evidence.validation import check_upload, clean_filename, sniff
from app.settings import Settings
from tests.evidence import samples

SETTINGS = Settings()


@pytest.mark.parametrize(("make", "fmt"), [(samples.jpeg, "jpeg"), (samples.png, "png"),
                                           (samples.webp, "webp")])
def test_accepted_formats(make, fmt):
    facts = check_upload(make(), "ok", SETTINGS)
    assert facts.format == fmt and facts.width > 0


@pytest.mark.parametrize(("data", "error", "words"), [
    (samples.gif(), UnsupportedImageType, "GIF image"),
    (samples.text_as_jpg(), UnsupportedImageType, "not an image"),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, UnsupportedImageType, "HEIC"),
    (b"", Unprocessable, "empty"),
    (samples.animated_webp(), Unprocessable, "2 frames"),
    (samples.apng(), Unprocessable, "2 frames"),
    (samples.mpo(), Unprocessable, "2 frames"),
    (samples.huge_png(), Unprocessable, "megapixels"),
    (samples.huge_png((8000, 7000)), Unprocessable, "megapixels"),  # Pillow only warns here
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, Unprocessable, "damaged"),
])
def test_refusals_name_the_file(data, error, words):
    with pytest.raises(error) as caught:
        check_upload(data, "photo.jpg", SETTINGS)
    assert "photo.jpg" in caught.value.message and words in caught.value.message


def test_byte_cap_is_checked_before_anything_else():
    small = Settings(max_upload_bytes=4096)
    with pytest.raises(PayloadTooLarge, match="big.png"):
        check_upload(samples.png(size=(800, 800)), "big.png", small)


def test_pixel_cap_follows_settings(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    tight = Settings(max_image_pixels=150_000)
    with pytest.raises(Unprocessable, match=r"\(0.2 megapixels\); the limit is 0.15 megapix"):
        check_upload(samples.png(size=(500, 400)), "p.png", tight)


def test_pixel_message_says_how_big():
    with pytest.raises(Unprocessable) as caught:
        check_upload(samples.huge_png(), "h.png", SETTINGS)
    assert "(100 megapixels)" in caught.value.message and "limit is 50" in caught.value.message


def test_truncated_jpeg_passes_the_header_but_not_the_decode():
    data = samples.truncated_jpeg()
    check_upload(data, "t.jpg", SETTINGS)
    with pytest.raises(Unprocessable, match="t.jpg"):
        decode(data, "jpeg", "t.jpg", long_side=1600, local_timezone="Europe/London")


def test_magic_bytes_decide_not_the_name():
    assert sniff(samples.png()) == "png"
    assert sniff(samples.text_as_jpg()) is None


def test_client_file_names_are_only_shown():
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\x\\IMG_1.JPG") == "IMG_1.JPG"
    assert clean_filename("a\x00b\nc.jpg") == "abc.jpg"
    assert clean_filename("") == "unnamed file"


def _decode(data, fmt="jpeg"):
    return decode(data, fmt, "x", long_side=1600, local_timezone="Europe/London")


def test_exif_time_gps_and_device():
    exif = _decode(samples.jpeg_with_exif()).exif
    assert exif.taken_at == datetime(2025, 6, 1, 20, 15, 30, tzinfo=UTC)  # +01:00 honoured
    assert exif.gps_lat == pytest.approx(53.4084, abs=1e-5)
    assert exif.gps_lon == pytest.approx(-2.9916, abs=1e-5)
    assert exif.device == "Apple iPhone 12"


def test_exif_time_without_offset_is_london_time():
    winter = _decode(samples.jpeg_with_exif(when="2025:01:10 09:00:00", offset=None)).exif
    summer = _decode(samples.jpeg_with_exif(when="2025:07:10 09:00:00", offset=None)).exif
    assert winter.taken_at == datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
    assert summer.taken_at == datetime(2025, 7, 10, 8, 0, tzinfo=UTC)  # BST


def test_missing_or_junk_exif_is_simply_absent():
    exif = _decode(samples.jpeg_with_exif(when="0000:00:00 00:00:00", lat=None, lon=None,
                                          make="Canon", model="Canon EOS 5D")).exif
    assert exif.taken_at is None and exif.gps_lat is None
    assert exif.device == "Canon EOS 5D"
    assert _decode(samples.png(), "png").exif.taken_at is None


def test_display_copy_is_clean_small_and_upright():
    # 2400x1800 stored sideways (orientation 6 = rotate 90° clockwise to view)
    data = samples.jpeg_with_exif(orientation=6)
    display = _decode(data).display
    img = Image.open(io.BytesIO(display))
    assert img.format == "JPEG" and max(img.size) <= 1600
    assert img.size[1] > img.size[0]  # the EXIF rotation was applied
    assert not img.getexif() and "exif" not in img.info and "comment" not in img.info
    assert b"Exif" not in display and b"secret comment" not in display
    assert b"iPhone" not in display


def test_transparent_png_becomes_a_jpeg():
    img = Image.open(io.BytesIO(_decode(samples.png(), "png").display))
    assert img.format == "JPEG" and img.mode == "RGB"
