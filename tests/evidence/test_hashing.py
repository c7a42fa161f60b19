"""Hashes and features: deterministic, robust to re-encoding, pure bytes in / values out."""

import io

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.evidence.borders import trim_borders
from app.evidence.hashing import (
    MAX_FEATURES,
    MIRROR_FEATURES,
    PREFILTER_KEYPOINTS,
    analyse_image,
    compute_features,
    compute_hashes,
    hamming,
    is_stale,
    load_working_image,
    prefilter_descriptors,
    to_signed,
    to_unsigned,
    unpack_features,
    verify_features,
)
from app.evidence.scene_check import THUMB


def scene(seed: int, size: tuple[int, int] = (800, 600)) -> np.ndarray:
    """A structured RGB picture (shapes, lines, text) distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.full((h, w, 3), rng.integers(60, 200, 3), np.uint8)
    for _ in range(40):
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            dx, dy = int(rng.integers(10, 150)), int(rng.integers(10, 150))
            cv2.rectangle(img, (x, y), (x + dx, y + dy), col, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(5, 60)), col, -1)
    for i in range(6):
        cv2.putText(img, f"CELL {seed}-{i}", (int(rng.integers(0, w // 2)), 60 + i * 90),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    # lighting gradient and sensor noise, as in any photo (flat rows would read as UI bars)
    shade = np.linspace(0.8, 1.1, w, dtype=np.float32)[None, :, None]
    noisy = img * shade + rng.normal(0, 6, img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buf.getvalue()


PHOTOS = {seed: jpeg(scene(seed)) for seed in range(4)}


@given(st.integers(0, 2**64 - 1))
def test_signed_unsigned_round_trip(u):
    s = to_signed(u)
    assert -(2**63) <= s < 2**63
    assert to_unsigned(s) == u
    assert s == int(np.array([u], dtype=np.uint64).view(np.int64)[0])  # same bits as numpy


@given(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1))
def test_hamming_counts_differing_bits(a, b):
    assert hamming(a, b) == bin(to_unsigned(a) ^ to_unsigned(b)).count("1")
    assert hamming(a, a) == 0 and hamming(a, b) == hamming(b, a)


def test_out_of_range_values_are_rejected():
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            to_signed(bad)
    with pytest.raises(ValueError):
        to_unsigned(2**63)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 3), quality=st.integers(40, 95))
def test_hashing_is_deterministic_and_survives_reencoding(seed, quality):
    original = compute_hashes(PHOTOS[seed])
    assert compute_hashes(PHOTOS[seed]) == original
    again = compute_hashes(jpeg(np.asarray(Image.open(io.BytesIO(PHOTOS[seed]))), quality))
    assert hamming(again.phash, original.phash) <= 6
    assert hamming(again.dhash, original.dhash) <= 8
    others = [compute_hashes(PHOTOS[s]).phash for s in PHOTOS if s != seed]
    assert min(hamming(original.phash, o) for o in others) > 12


def test_resize_and_png_keep_hashes_close_and_report_the_full_size():
    rgb = scene(7, (2000, 1500))
    big = compute_hashes(jpeg(rgb))
    assert (big.width, big.height) == (2000, 1500)
    small = Image.fromarray(rgb).resize((1080, 810), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "PNG")
    other = compute_hashes(buf.getvalue())
    assert (other.width, other.height) == (1080, 810)
    assert hamming(big.phash, other.phash) <= 4


def test_mirror_hash_is_the_hash_of_the_mirrored_image():
    rgb = scene(2)
    plain = compute_hashes(jpeg(rgb))
    flipped = compute_hashes(jpeg(np.ascontiguousarray(rgb[:, ::-1])))
    assert hamming(plain.phash_mirror, flipped.phash) <= 4
    assert hamming(plain.phash, flipped.phash_mirror) <= 4
    assert hamming(plain.phash, flipped.phash) > 12


def test_exif_orientation_is_applied_before_hashing():
    rgb = scene(3)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; viewers rotate 90 degrees clockwise
    sideways = jpeg(np.ascontiguousarray(np.rot90(rgb, 1)), exif=exif.tobytes())
    upright = compute_hashes(jpeg(rgb))
    rotated = compute_hashes(sideways)
    assert (rotated.width, rotated.height) == (800, 600)
    assert hamming(rotated.phash, upright.phash) <= 4


def test_large_jpeg_decodes_at_reduced_size():
    gray, full = load_working_image(jpeg(cv2.resize(scene(5, (1008, 756)), (4032, 3024)), 85))
    assert full == (4032, 3024)
    assert max(gray.shape) <= 512 and gray.dtype == np.uint8


def test_screenshot_borders_are_trimmed():
    rgb = scene(1)
    canvas = np.full((1600, 800, 3), 255, np.uint8)
    canvas[400:1000] = rgb
    cv2.putText(canvas, "username_12", (40, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
    cv2.putText(canvas, "12:41", (30, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    shot = compute_hashes(jpeg(canvas))
    plain = compute_hashes(PHOTOS[1])
    assert hamming(shot.phash, plain.phash) > 12  # the whole screenshot looks different
    assert hamming(shot.phash_trim, plain.phash_trim) <= 6  # its photo does not
    gray, _ = load_working_image(jpeg(canvas))
    top, bottom, left, right = trim_borders(gray)
    scale = gray.shape[0] / 1600
    assert abs(top - 400 * scale) <= 3 and abs(bottom - 1000 * scale) <= 3
    assert (left, right) == (0, gray.shape[1])


def test_features_are_bounded_deterministic_and_verify_the_same_scene_only():
    blob = compute_features(PHOTOS[0])
    assert blob == compute_features(PHOTOS[0])
    xy, desc, (w, h) = unpack_features(blob)
    assert 50 < len(desc) <= MAX_FEATURES and desc.shape[1] == 32
    assert (w, h) == (512, 384) and xy[:, 0].max() < w and xy[:, 1].max() < h
    assert len(blob) <= 9 + (MAX_FEATURES + MIRROR_FEATURES) * 36 + THUMB * THUMB <= 40_000
    img = np.asarray(Image.open(io.BytesIO(PHOTOS[0])))
    m = cv2.getRotationMatrix2D((400, 300), 5, 1.1)
    rotated = compute_features(jpeg(cv2.warpAffine(img, m, (800, 600)), 70))
    cropped = compute_features(jpeg(np.ascontiguousarray(img[60:560, 80:760])))
    unrelated = compute_features(PHOTOS[1])
    assert verify_features(blob, rotated) >= 40
    assert verify_features(blob, cropped) >= 40
    assert verify_features(blob, unrelated) < 15
    assert verify_features(blob, blob) == verify_features(blob, blob)  # deterministic


def test_analyse_image_matches_the_separate_functions_and_prefilter_is_padded():
    analysis = analyse_image(PHOTOS[2])
    assert analysis.hashes == compute_hashes(PHOTOS[2])
    assert analysis.features == compute_features(PHOTOS[2])
    pre = prefilter_descriptors(analysis.features)
    assert pre.shape == (PREFILTER_KEYPOINTS, 32) and pre.dtype == np.uint8
    assert (pre == unpack_features(analysis.features)[1][:PREFILTER_KEYPOINTS]).all()
    flat = compute_features(jpeg(np.full((300, 300, 3), 128, np.uint8)))
    assert len(unpack_features(flat)[1]) == 0
    assert not prefilter_descriptors(flat).any()
    assert verify_features(flat, analysis.features) == 0


@pytest.mark.parametrize("data", [b"", b"not an image", PHOTOS[0][:200]])
def test_undecodable_input_raises_value_error(data):
    with pytest.raises(ValueError):
        analyse_image(data)


def test_corrupt_feature_blob_is_rejected():
    blob = compute_features(PHOTOS[0])
    for bad in (b"", blob[:-1], b"\x09" + blob[1:]):
        with pytest.raises(ValueError):
            unpack_features(bad)


def test_a_mirrored_and_cropped_copy_verifies_through_the_mirrored_set():
    img = np.asarray(Image.open(io.BytesIO(PHOTOS[0])))
    selfie = compute_features(jpeg(np.ascontiguousarray(img[40:560, 60:740, :][:, ::-1])))
    original = compute_features(PHOTOS[0])
    _, mirrored, _ = unpack_features(selfie, mirrored=True)
    assert 50 < len(mirrored) <= MIRROR_FEATURES
    assert verify_features(selfie, original) >= 40
    # the second stage verifies the mirrored side only for what the mirror image voted for
    assert verify_features(selfie, original, mirrored=False) < 20
    assert verify_features(selfie, compute_features(PHOTOS[1])) < 15
    assert prefilter_descriptors(selfie, mirrored=True).any()


@pytest.mark.parametrize("version", [1, 2])
def test_a_stale_feature_blob_is_never_misread(version):
    """A blob of an older version (1, or 2: no thumbnail) scores 0 and never votes; no
    crash."""
    blob = compute_features(PHOTOS[0])
    old = bytes([version]) + blob[1:]
    assert is_stale(old) and not is_stale(blob)
    assert verify_features(old, blob) == 0 and verify_features(blob, old) == 0
    assert not prefilter_descriptors(old).any()
    with pytest.raises(ValueError):
        unpack_features(old)


def test_flat_lines_agree_with_the_median_by_definition():
    """borders._flat_lines (sorted rows) says what np.median and a count say, row by row."""
    from app.evidence.borders import _flat_lines

    rng = np.random.default_rng(7)
    for _ in range(300):
        gray = (rng.random((int(rng.integers(1, 120)), int(rng.integers(1, 120))))
                * int(rng.integers(1, 256))).astype(np.uint8)
        gray[: int(rng.integers(0, 5))] = int(rng.integers(0, 256))  # some flat rows
        for rows in (gray, gray.T):
            median = np.median(rows.astype(np.float64), axis=1)
            near = (np.abs(rows - median[:, None]) <= 1).sum(axis=1)
            assert (_flat_lines(rows, 0.8, 1) == (near >= 0.8 * rows.shape[1])).all()
