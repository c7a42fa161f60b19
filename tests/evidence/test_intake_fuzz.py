"""Fuzzing the image intake: arbitrary bytes, and real JPEG, PNG and WebP files with their
headers mutated (sizes, markers, truncation, flipped bytes). Whatever arrives, the intake either
takes the file or refuses it with a 4xx AppError naming the file: never another exception."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.errors import AppError
from app.evidence import images
from app.evidence.intake import CheckedFile, SubmittedFile, check_files
from tests.evidence.samples import encode, picture

# check_files and prepare write nothing: one test's session serves every example.
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SAMPLES = {
    "jpeg": encode(picture(3, (64, 48)), "JPEG", quality=80),
    "png": encode(picture(4, (48, 64)), "PNG"),
    "png-rgba": encode(picture(5, (40, 40), "RGBA"), "PNG"),
    "png-grey": encode(picture(6, (32, 24), "L"), "PNG"),
    "webp": encode(picture(7, (64, 48)), "WEBP", quality=80),
    "webp-lossless": encode(picture(8, (24, 24)), "WEBP", lossless=True),
}
SIDES = st.sampled_from([0, 1, 2, 7, 255, 256, 4096, 40000, 65535]) | st.integers(0, 2**16 - 1)


def _png_size(data: bytes, width: int, height: int, fix_crc: bool) -> bytes:
    """The IHDR chunk (always first, at byte 8) with another size, its CRC redone or not."""
    ihdr = bytearray(data[12:29])  # type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr))) if fix_crc else data[29:33]
    return data[:12] + bytes(ihdr) + crc + data[33:]


def _jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The frame header (SOF0 or SOF2) with another size."""
    at = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    if at < 0:
        return data
    return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]


def _webp_size(data: bytes, width: int, height: int) -> bytes:
    """A lossy VP8 frame's 14-bit sizes, or a lossless VP8L's, whichever the file holds."""
    if data[12:16] == b"VP8 ":
        return data[:26] + struct.pack("<HH", width & 0x3FFF, height & 0x3FFF) + data[30:]
    if data[12:16] == b"VP8L":
        bits = ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14)
        return data[:21] + struct.pack("<I", bits | (data[24] >> 4 << 28)) + data[25:]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(sorted(SAMPLES)))
    data = SAMPLES[name]
    if draw(st.booleans()):
        width, height = draw(SIDES), draw(SIDES)
        if name.startswith("png"):
            data = _png_size(data, width, height, fix_crc=draw(st.booleans()))
        elif name == "jpeg":
            data = _jpeg_size(data, width, height)
        else:
            data = _webp_size(data, width, height)
    for _ in range(draw(st.integers(0, 4))):  # a few bytes changed, cut or put in
        how = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif how == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 64)):]
        elif how == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=32)) + data[at:]
        else:
            data = data[:at]
    return data


def _check(session, settings_, data: bytes, filename: str = "fuzz.jpg") -> None:
    try:
        checked = check_files(session, settings_, [SubmittedFile(filename, data)])
    except AppError as refusal:
        event(f"refused {refusal.status_code}")  # --hypothesis-show-statistics
        assert 400 <= refusal.status_code < 500, (refusal.status_code, refusal.message)
        assert refusal.message
        return
    event("taken")
    assert len(checked) == 1 and isinstance(checked[0], CheckedFile)


@FUZZ
@given(data=st.binary(max_size=4096), filename=st.sampled_from(
    ["a.jpg", "b.png", "c.webp", "d.gif", "", "../../etc/passwd", "x\u202ey.jpg"]))
def test_any_bytes_are_taken_or_refused_cleanly(session, settings, data, filename):
    _check(session, settings, data, filename)


@FUZZ
@given(data=st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"])
       .flatmap(lambda magic: st.binary(max_size=2048).map(lambda tail: magic + tail)))
def test_a_right_magic_number_before_garbage_is_refused_cleanly(session, settings, data):
    _check(session, settings, data)


@FUZZ
@given(data=mutated())
def test_mutated_real_pictures_are_taken_or_refused_cleanly(session, settings, data):
    _check(session, settings, data)


@FUZZ
@given(data=mutated())
def test_mutated_pictures_prepared_with_local_features(session, settings, data):
    """images.prepare with features, as a reference photo is (the second stage's path)."""
    try:
        prepared = images.prepare(session, settings, data=data, filename="fuzz.png")
    except AppError as refusal:
        assert 400 <= refusal.status_code < 500, (refusal.status_code, refusal.message)
        return
    assert prepared.decoded is not None and prepared.sha256


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_unmutated_samples_are_taken(session, settings, name):
    """The fuzzers start from files the intake takes (else every mutation is a refusal)."""
    assert len(check_files(session, settings, [SubmittedFile("ok", SAMPLES[name])])) == 1
