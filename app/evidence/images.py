"""Stored images: take one in (validate, seal, derive, hash), read it back, erase it.

Services never commit: the caller owns the transaction (see storage.py for how files follow it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import NotFound
from app.evidence import budget, crypto, storage
from app.evidence.derive import Decoded, analyse_stored, decode
from app.evidence.erasure import erase_images
from app.evidence.errors import StoredImageDamaged
from app.evidence.hashing import frame_features
from app.evidence.models import Image, ImageFeatures, Video, VideoFrame
from app.evidence.validation import HeaderFacts, check_upload
from app.settings import Settings
from app.web.dates import local_day

log = logging.getLogger("cellwatch.evidence")


@dataclass(frozen=True)
class Prepared:
    """An upload that passed every check, ready to store (nothing stored yet)."""

    filename: str
    data: bytes
    sha256: str
    facts: HeaderFacts
    decoded: Decoded | None = None  # display copy, EXIF, analysis; None: the bytes are held
    features: bool = True  # whether the analysis includes the local features


def find_by_sha256(session: Session, sha256: str) -> Image | None:
    """The held image with these bytes; a withdrawn (erased) one is never found again."""
    return session.exec(select(Image).where(Image.sha256 == sha256,
                                            col(Image.erased_at).is_(None))).first()


def prepare(session: Session, settings: Settings, *, data: bytes, filename: str,
            features: bool = True) -> Prepared:
    """Every check and derivation that can refuse the file, before anything is stored.

    `features=False`: no local features now (evidence intake: the image's second stage, in a
    match worker, computes them; see ensure_features). The web process is spared the costliest
    part of an upload, and the second stage needs them first anyway."""
    facts = check_upload(data, filename, settings)
    size = budget.decoded_size(facts.width, facts.height, facts.mode)
    budget.check_file(settings, filename, size)
    digest = hashlib.sha256(data).hexdigest()
    if find_by_sha256(session, digest) is not None:
        return Prepared(filename, data, digest, facts, features=features)
    # decoded once: the display copy, EXIF facts, hashes (and features) from one picture;
    # within the process's decode budget, so that large pictures at once cannot exhaust memory
    with budget.process_budget(settings).hold(budget.working_memory(size),
                                              settings.decode_wait_seconds):
        decoded = budget.on_decode_thread(settings, lambda: decode(
            data, facts.format, filename, long_side=settings.display_long_side,
            local_timezone=settings.local_timezone, features=features))
    return Prepared(filename, data, digest, facts, decoded, features)


def prepare_decoded(session: Session, settings: Settings, *, data: bytes, filename: str,
                    decoded: Decoded) -> Prepared:
    """`prepare` for a lossless file the caller made from pixels it holds, with `decoded`
    made from those same pixels (derive.decode_picture): a video frame, not decoded back.
    The header checks still apply."""
    facts = check_upload(data, filename, settings)
    budget.check_file(settings, filename, budget.decoded_size(facts.width, facts.height,
                                                               facts.mode))
    digest = hashlib.sha256(data).hexdigest()
    features = decoded.analysis.features is not None
    if find_by_sha256(session, digest) is not None:
        return Prepared(filename, data, digest, facts, features=features)
    return Prepared(filename, data, digest, facts, decoded, features)


def store(session: Session, settings: Settings, actor: Actor,
          prepared: Prepared) -> tuple[Image, bool]:
    """Seal and record a prepared upload -> (image, created). Same bytes: the held image."""
    held = find_by_sha256(session, prepared.sha256)  # again: an earlier file of this batch
    if held is not None:
        return held, False
    if prepared.decoded is None:  # held at prepare, erased since
        prepared = prepare(session, settings, data=prepared.data, filename=prepared.filename,
                           features=prepared.features)
    assert prepared.decoded is not None
    image = Image(sha256=prepared.sha256)  # after a withdrawal: a new image, matched afresh
    _fill(session, settings, actor, image, prepared)
    record(session, actor, "evidence.image.stored",
           object_type="image", object_ids=[image.id or 0],
           details={"sha256": image.sha256, "format": image.format,
                    "byte_size": image.byte_size, "filename": prepared.filename})
    return image, True


def _fill(session: Session, settings: Settings, actor: Actor, image: Image,
          prepared: Prepared) -> None:
    decoded = prepared.decoded
    assert decoded is not None
    key, storage_key = crypto.new_key(), storage.new_storage_key()
    storage.store_all(session, settings, storage_key, {
        kind: crypto.seal(key, plain, storage_key=storage_key, kind=kind)
        for kind, plain in (("original", prepared.data), ("display", decoded.display))})
    hashes, exif = decoded.analysis.hashes, decoded.exif
    image.format, image.byte_size = prepared.facts.format, len(prepared.data)
    image.width, image.height = hashes.width, hashes.height  # as displayed (EXIF-rotated)
    image.storage_key = storage_key
    image.wrapped_key = crypto.wrap_key(settings.master_key_bytes, key)
    image.master_key_id = settings.master_key_id
    image.phash, image.phash_mirror = hashes.phash, hashes.phash_mirror
    image.phash_trim, image.dhash = hashes.phash_trim, hashes.dhash
    image.exif_taken_at, image.exif_device = exif.taken_at, exif.device
    image.exif_gps_lat, image.exif_gps_lon = exif.gps_lat, exif.gps_lon
    image.created_at, image.created_by, image.erased_at = utcnow(), actor.user_id, None
    session.add(image)
    session.flush()
    if decoded.analysis.features is not None:
        session.merge(ImageFeatures(image_id=image.id or 0, data=decoded.analysis.features))


def features_of(settings: Settings, image: Image, *, frame: bool = False) -> bytes:
    """The local features intake would have stored, from the sealed original (which is
    checked against its sha256 first: StoredImageDamaged if it fails); `frame`: a video
    frame's, measured at the reference photos' scale (hashing.frame_features)."""
    if frame:
        return frame_features(read_original(settings, image))
    features = analyse_stored(read_original(settings, image),
                              long_side=settings.display_long_side).features
    assert features is not None
    return features


def is_video_frame(session: Session, image_id: int) -> bool:
    """Whether the image is a frame sampled from a video (its features are a frame's)."""
    return session.exec(select(VideoFrame.id).where(
        VideoFrame.image_id == image_id)).first() is not None


def ensure_features(session: Session, settings: Settings, image: Image) -> None:
    """Local features for an image that was stored without them (evidence whose second stage
    has not run yet), in the caller's transaction: a reference photo needs them to vote."""
    if session.get(ImageFeatures, image.id) is None:
        frame = is_video_frame(session, image.id or 0)
        session.merge(ImageFeatures(image_id=image.id or 0,
                                    data=features_of(settings, image, frame=frame)))


def ingest_image(session: Session, settings: Settings, actor: Actor, *, data: bytes,
                 filename: str) -> tuple[Image, bool]:
    """Validate and store one image -> (image, created); the same bytes are one image."""
    return store(session, settings, actor, prepare(session, settings, data=data,
                                                   filename=filename))


def image_key(settings: Settings, image: Image | Video) -> bytes:
    """The image's (or video's) own key, unwrapped under the master key whose id it records."""
    master = crypto.master_for(settings.key_ring, image.master_key_id)
    return crypto.unwrap_key(master, image.wrapped_key)


def _open(settings: Settings, image: Image, kind: str) -> bytes:
    if image.erased_at is not None:
        raise NotFound(f"Image {image.id} was erased on "
                       f"{local_day(image.erased_at, settings.local_timezone)}.")
    try:
        key = image_key(settings, image)
        blob = storage.read(settings, image.storage_key, kind)
        return crypto.unseal(key, blob, storage_key=image.storage_key, kind=kind)
    except (crypto.SealBroken, OSError) as exc:
        log.error("stored image %s (%s, %s) failed to open: %s", image.id, image.storage_key,
                  kind, exc)
        raise StoredImageDamaged(f"The stored copy of image {image.id} failed its integrity "
                                 "check and was not shown. This has been logged; tell the "
                                 "system administrator.") from None


def read_display(settings: Settings, image: Image) -> bytes:
    """The re-encoded display copy (the only form ever served)."""
    return _open(settings, image, "display")


def read_original(settings: Settings, image: Image) -> bytes:
    """The original evidence bytes, checked against the recorded sha256 (never served raw)."""
    data = _open(settings, image, "original")
    if hashlib.sha256(data).hexdigest() != image.sha256:
        log.error("stored image %s decrypted but its sha256 differs", image.id)
        raise StoredImageDamaged(f"Image {image.id} does not match its recorded sha256.")
    return data


def erase_image(session: Session, settings: Settings, actor: Actor, *, image_id: int,
                reason: str) -> Image:
    """Crypto-erase one image (erasure.py): the wrapped key is destroyed now; files go once the
    erase commits. The audit event holds its id only, nothing of the picture."""
    image = session.get(Image, image_id)
    if image is None:
        raise NotFound(f"There is no image {image_id}.")
    if image.erased_at is not None:
        return image
    done = erase_images(session, settings, actor, image_ids=[image_id], now=utcnow(),
                        reason=reason)
    record(session, actor, "evidence.image.erased", object_type="image", object_ids=[image_id],
           purpose=reason, details={"reference_photos_removed": done.reference_photos_removed})
    session.refresh(image)
    return image
