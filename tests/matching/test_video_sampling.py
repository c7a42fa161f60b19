"""Videos are sampled by the match workers from the same lease queue as second stages: claimed
once (FOR UPDATE SKIP LOCKED on PostgreSQL, the lease on SQLite), sampled again when a worker
dies, never stored twice, and failed with their reason after a bounded number of attempts. On
committed databases (a SQLite file and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from PIL import ImageFile
from sqlalchemy import func
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import unit_of_work, utcnow
from app.evidence import images, storage, videos
from app.evidence.derive import analyse_stored, decode
from app.evidence.hashing import frame_features
from app.evidence.models import (
    EvidenceImage,
    EvidenceVideo,
    Image,
    ImageFeatures,
    Video,
    VideoFrame,
)
from app.evidence.sweep import sweep_orphans
from app.matching import queue
from app.matching.models import MatchRun
from app.matching.sampling import run_sampling
from app.matching.worker import drain
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.video import clips


def _waiting(settings, factory, data: bytes, post_url: str = "") -> int:
    """A video as intake leaves it: checked, sealed, linked to its post, waiting."""
    prepared = videos.prepare(settings, data=data, filename="clip.mp4")
    with unit_of_work(factory) as s:
        video, _ = videos.store(s, settings, SYSTEM, prepared)
        videos.link_post(s, SYSTEM, video, filename="clip.mp4", url=post_url, posted_at=None)
        return video.id


def _counts(factory) -> tuple[int, int, int]:
    with factory() as s:
        return (s.exec(select(func.count()).select_from(VideoFrame)).one(),
                s.exec(select(func.count()).select_from(Image)).one(),
                s.exec(select(func.count()).select_from(EvidenceImage)).one())


def test_a_worker_samples_a_waiting_video_and_then_matches_its_frames(live):  # noqa: F811
    settings, factory, index = live
    video_id = _waiting(settings, factory, clips.small_clip(seconds=3, size=(128, 96)),
                        "https://tiktok.example/v/1")
    heard = []  # what the worker's idle threads are told, and what waits when they are

    def queued() -> None:
        with factory() as s:
            heard.append(s.exec(select(func.count()).select_from(MatchRun).where(
                col(MatchRun.second_stage_at).is_(None))).one())

    assert drain(factory, index, settings=settings, queued=queued) >= 1
    with factory() as s:
        video = s.get(Video, video_id)
        assert video.state == "sampled" and video.attempts == 1 and video.claimed_at is None
        frames = s.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)).all()
        assert len(frames) == video.frames >= 3
        # told once, when every frame's second stage was waiting to be taken
        assert heard == [len({f.image_id for f in frames})]
        assert [round(f.t) for f in frames[:3]] == [0, 1, 2]
        # each frame held as an image, linked to the video's post, both stages run
        for frame in frames:
            assert s.exec(select(EvidenceImage.post_url).where(
                EvidenceImage.image_id == frame.image_id)).all() == ["https://tiktok.example/v/1"]
            run = s.get(MatchRun, frame.image_id)
            assert run is not None and run.second_stage_at is not None
        assert s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "evidence.video.sampled")).one() == 1
    poster = videos.read_derivative(settings, video, "poster")
    assert poster[:3] == b"\xff\xd8\xff"
    assert videos.read_derivative(settings, video, "preview")[4:8] == b"ftyp"
    with unit_of_work(factory) as s:  # nothing left to claim
        assert queue.claim_next(s, utcnow(), on=queue.SAMPLINGS) is None


def test_frames_are_analysed_from_their_sampled_pixels_never_decoded_back(live, monkeypatch):  # noqa: F811
    settings, factory, index = live
    video_id = _waiting(settings, factory, clips.small_clip(seconds=3, size=(128, 96)))
    decoded: list[str] = []
    load = ImageFile.ImageFile.load

    def counting(self):  # noqa: ANN001, ANN202 - Pillow's own signature
        if self.tile:  # pixels still to decode (opening reads the header only)
            decoded.append(self.format)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    with unit_of_work(factory) as s:
        taken = queue.claim(s, video_id, utcnow(), on=queue.SAMPLINGS)
    ids = run_sampling(factory, index, SYSTEM, taken, settings=settings)
    monkeypatch.undo()
    assert ids and "PNG" not in decoded
    with factory() as s:
        for image_id in ids:
            image, stored = s.get(Image, image_id), s.get(ImageFeatures, image_id)
            assert s.get(MatchRun, image_id).second_stage_at is None  # not run yet...
            assert stored is not None  # ...and its features are there for it
            # the same as the sealed lossless original gives when it is decoded
            original = images.read_original(settings, image)
            assert original[:8] == b"\x89PNG\r\n\x1a\n"
            again = analyse_stored(original, long_side=settings.display_long_side)
            assert stored.data == frame_features(original)  # as a frame's second stage would
            assert (image.phash, image.phash_trim) == (again.hashes.phash,
                                                       again.hashes.phash_trim)
            shown = decode(original, "png", "frame", long_side=settings.display_long_side,
                           local_timezone="UTC", features=False).display
            assert images.read_display(settings, image) == shown


def test_a_worker_killed_mid_sampling_is_replaced_and_nothing_is_stored_twice(live):  # noqa: F811
    settings, factory, index = live
    video_id = _waiting(settings, factory, clips.small_clip(seconds=2))
    long_ago = utcnow() - queue.LEASE - timedelta(seconds=1)
    with unit_of_work(factory) as s:  # a worker took it, then was killed before its commit
        killed = queue.claim(s, video_id, long_ago, "host-a:1", on=queue.SAMPLINGS)
    assert killed == queue.Claim(video_id, 1)
    with unit_of_work(factory) as s:  # the lease holds until it lapses
        assert queue.claim(s, video_id, long_ago + timedelta(seconds=30),
                           on=queue.SAMPLINGS) is None
    drain(factory, index, settings=settings)  # now: the lease has lapsed
    after = _counts(factory)
    with factory() as s:
        video = s.get(Video, video_id)
        assert video.state == "sampled" and video.attempts == 2
    assert after[0] == video.frames > 0
    # the killed worker comes back to life and finishes its run: its claim is stale, so its
    # work is dropped and nothing is stored a second time
    assert run_sampling(factory, index, SYSTEM, killed, settings=settings) is None
    assert _counts(factory) == after


def test_a_video_that_cannot_be_sampled_fails_with_its_reason_after_its_attempts(live):  # noqa: F811
    settings, factory, index = live
    whole = clips.small_clip(seconds=2, faststart=True)  # header first: inspect passes
    video_id = _waiting(settings, factory, whole[:len(whole) // 2])
    policy = queue.Policy(attempts=2)
    now = utcnow()
    with factory() as s:  # what /readyz and `cellwatch matching queue` show an operator
        depth = queue.backlog(s, now, policy, queue.SAMPLINGS)
        assert (depth.waiting, depth.running, depth.failed) == (1, 0, 0)
        assert queue.backlog(s, now, policy).waiting == 0  # not a second stage
    for attempt in (1, 2):
        with unit_of_work(factory) as s:
            taken = queue.claim(s, video_id, now + timedelta(minutes=attempt), policy=policy,
                                on=queue.SAMPLINGS)
        assert taken == queue.Claim(video_id, attempt)
        assert run_sampling(factory, index, SYSTEM, taken, policy, settings=settings) is None
        with factory() as s:
            video = s.get(Video, video_id)
            assert "damaged or incomplete" in video.error
            assert video.state == ("waiting" if attempt == 1 else "failed")
    with unit_of_work(factory) as s:  # out of attempts: nobody takes it again
        assert queue.claim_next(s, now + timedelta(hours=1), policy=policy,
                                on=queue.SAMPLINGS) is None
    assert _counts(factory) == (0, 0, 0)
    with factory() as s:
        depth = queue.backlog(s, now + timedelta(hours=1), policy, queue.SAMPLINGS)
        assert (depth.waiting, depth.running, depth.failed) == (0, 0, 1)
    with factory() as s:
        finals = s.exec(select(AuditEvent.details).where(
            AuditEvent.action == "evidence.video.sampling_failed")).all()
    assert len(finals) == 2 and '"final": true' in finals[-1]


def test_erasing_a_video_erases_its_original_derivatives_and_frames(live):  # noqa: F811
    settings, factory, index = live
    video_id = _waiting(settings, factory, clips.small_clip(seconds=2))
    drain(factory, index, settings=settings)
    with unit_of_work(factory) as s:
        video = s.get(Video, video_id)
        key = video.storage_key
        doomed = videos.erase_videos(s, settings, SYSTEM, video_ids=[video_id], now=utcnow(),
                                     reason="Erased: retention")
    assert doomed
    assert not any(p.exists() for p in storage.paths_of(settings, key, storage.VIDEO_KINDS))
    with factory() as s:
        video = s.get(Video, video_id)
        assert video.erased_at is not None and video.wrapped_key == b""
        assert all(s.get(Image, i).erased_at is not None for i in doomed)
        assert all(s.get(Image, i).wrapped_key == b"" for i in doomed)
        assert s.exec(select(EvidenceVideo.erased_at).where(
            EvidenceVideo.video_id == video_id)).one() is not None


def test_the_orphan_sweep_keeps_a_videos_files(live):  # noqa: F811
    settings, factory, index = live
    data = clips.small_clip(seconds=1)
    video_id = _waiting(settings, factory, data)
    drain(factory, index, settings=settings)
    swept = sweep_orphans(factory, settings, wait_seconds=0.5)
    assert swept.removed == []
    with factory() as s:
        video = s.get(Video, video_id)
    assert all(p.exists() for p in storage.paths_of(settings, video.storage_key,
                                                    storage.VIDEO_KINDS))
    assert videos.read_original(settings, video) == data
