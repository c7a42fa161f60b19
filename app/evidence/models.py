"""Tables of stored images: the encrypted original, its hashes, and what it is evidence of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


def _hash_column() -> Column[int]:
    return Column(BigInteger, nullable=False, index=True)


# The same bytes are one image while it is held; a withdrawn (erased) image keeps its row and
# sha256 for the record, and the same bytes sent again are a new image, matched afresh.
HELD_ONLY = "erased_at IS NULL"


class Image(SQLModel, table=True):
    """One stored image, whatever brought it in: the same bytes held are always this one row."""

    __table_args__ = (
        Index("uq_image_sha256_held", "sha256", unique=True,
              sqlite_where=text(HELD_ONLY), postgresql_where=text(HELD_ONLY)),
    )

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64)  # unique among images not erased (uq_image_sha256_held)
    format: str = Field(max_length=8)  # jpeg, png, webp
    byte_size: int
    width: int
    height: int
    storage_key: str = Field(max_length=64, unique=True)  # random name; no client path
    wrapped_key: bytes = Field(sa_type=LargeBinary)  # the image's own AES key, wrapped
    # the id of the master key that wrapped it (settings.master_key_id when it was wrapped)
    master_key_id: str = Field(default="1", max_length=16, index=True)
    # 64-bit perceptual hashes stored as signed integers (see app.evidence.hashing)
    phash: int = Field(sa_column=_hash_column())
    phash_mirror: int = Field(sa_column=_hash_column())
    phash_trim: int = Field(sa_column=_hash_column())
    dhash: int = Field(sa_column=_hash_column())
    exif_taken_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exif_gps_lat: float | None = None
    exif_gps_lon: float | None = None
    exif_device: str = Field(default="", max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # a withdrawal: who and why (erased_at is when); the image itself is gone
    withdrawn_by: int | None = Field(default=None, foreign_key="app_user.id")
    withdrawal_reason: str = Field(default="", max_length=500)


class ImageFeatures(SQLModel, table=True):
    """Local features for the second matching stage; kept apart so `image` stays narrow."""

    __tablename__ = "image_features"

    image_id: int = Field(foreign_key="image.id", primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)


class ReferencePhoto(SQLModel, table=True):
    """A photo known to show a cell: taken by staff, or a confirmed evidence image."""

    __tablename__ = "reference_photo"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    cell_id: int = Field(foreign_key="cell.id", index=True)
    source: str = Field(default="staff", max_length=16)  # staff | evidence
    taken_on: datetime | None = Field(default=None, sa_type=UTCDateTime)
    added_by: int | None = Field(default=None, foreign_key="app_user.id")
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    removed_by: int | None = Field(default=None, foreign_key="app_user.id")


class EvidenceImage(SQLModel, table=True):
    """An image captured from a suspect account, with its post where known."""

    __tablename__ = "evidence_image"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    post_url: str = Field(default="", max_length=2048)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_filename: str = Field(default="", max_length=255)  # shown only; never a path
    submitted_by: int | None = Field(default=None, foreign_key="app_user.id")
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # erased with its account's evidence, kept only as the record of a takedown that cited it
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PackKey(SQLModel, table=True):
    """The key of one sealed evidence pack (made by takedowns/packfiles.py): its own random
    key, wrapped by the master key like an image's. Erasing any image whose display copy the
    pack holds destroys it (packkeys.py): the pack then opens for nobody, from any backup."""

    __tablename__ = "evidence_pack"

    pack_key: str = Field(primary_key=True, max_length=64)  # the pack file's random name
    wrapped_key: bytes = Field(sa_type=LargeBinary)  # empty once erased
    master_key_id: str = Field(default="1", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # why: the image erased with it and that erasure's reason (shown on the takedown page)
    erasure_reason: str = Field(default="", max_length=600)


class PackImage(SQLModel, table=True):
    """An image whose display copy an evidence pack holds."""

    __tablename__ = "evidence_pack_image"

    pack_key: str = Field(foreign_key="evidence_pack.pack_key", primary_key=True, max_length=64)
    image_id: int = Field(foreign_key="image.id", primary_key=True, index=True)


class Video(SQLModel, table=True):
    """A stored clip (video, or animated GIF/WebP): sealed original, poster and preview under
    its own key, like an image. Its sampled frames become ordinary images (`video_frame`).

    Also the queue of samplings (app/matching/queue.py): a video without `sampled_at` waits;
    a match worker claims it (`claimed_at`, `attempts` as fencing token); out of attempts it
    is failed (`failed_at`, its reason in `error`)."""

    __table_args__ = (
        Index("uq_video_sha256_held", "sha256", unique=True,
              sqlite_where=text(HELD_ONLY), postgresql_where=text(HELD_ONLY)),
    )

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64)  # unique among videos not erased
    container: str = Field(max_length=16)  # mp4 | mov | webm | gif | webp
    codec: str = Field(max_length=16)
    duration: float | None = None  # seconds; None: the header does not say
    width: int
    height: int
    frame_rate: float | None = None
    byte_size: int
    storage_key: str = Field(max_length=64, unique=True)
    wrapped_key: bytes = Field(sa_type=LargeBinary)
    master_key_id: str = Field(default="1", max_length=16, index=True)
    # the container's own creation time, when it has one: a frame's day after the post time
    file_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sampled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    frames: int = 0  # frames stored when sampled
    error: str = Field(default="", max_length=500)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    claimed_by: str = Field(default="", max_length=64)
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)

    @property
    def state(self) -> str:
        """waiting | sampled | failed (the reason in `error`)."""
        if self.sampled_at is not None:
            return "sampled"
        return "failed" if self.failed_at is not None else "waiting"


class VideoFrame(SQLModel, table=True):
    """A sampled frame of a video: an ordinary held image, and where in the clip it is."""

    __tablename__ = "video_frame"
    __table_args__ = (UniqueConstraint("video_id", "t", name="uq_video_frame_t"),)

    id: int | None = Field(default=None, primary_key=True)
    video_id: int = Field(foreign_key="video.id", index=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    t: float  # seconds from the start of the clip
    reason: str = Field(max_length=32)  # second | keyframe | cut | first, joined by "+"


class EvidenceVideo(SQLModel, table=True):
    """A video captured from a suspect account, with its post where known (as EvidenceImage)."""

    __tablename__ = "evidence_video"

    id: int | None = Field(default=None, primary_key=True)
    video_id: int = Field(foreign_key="video.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    post_url: str = Field(default="", max_length=2048)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_filename: str = Field(default="", max_length=255)
    submitted_by: int | None = Field(default=None, foreign_key="app_user.id")
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
