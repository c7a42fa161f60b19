"""A takedown citing frames of a video: the evidence pack carries the frames' display copies
and, in its manifest, the sha256 of the video's original as captured (never the video)."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from app.db import utcnow
from app.evidence import videos
from app.evidence.models import EvidenceImage, VideoFrame
from app.matching import queue
from app.matching.engine import MatchEngine
from app.matching.sampling import run_sampling
from app.takedowns import packs, service
from tests.conftest import TEST_ACTOR
from tests.takedowns.conftest import doer
from tests.takedowns.helpers import complete_draft, factory_of, unzip
from tests.video import clips


def test_the_pack_names_the_videos_original_and_carries_its_frames(session, settings, world):
    clip = clips.small_clip(seconds=2)
    video, _ = videos.store(session, settings, TEST_ACTOR,
                            videos.prepare(settings, data=clip, filename="reel.mp4"))
    post, _ = videos.link_post(session, TEST_ACTOR, video, filename="reel.mp4",
                               url="https://www.instagram.com/reel/R1/", posted_at=None)
    post.account_id = world.account.id
    session.add(post)
    session.commit()
    taken = queue.claim(session, video.id, utcnow(), on=queue.SAMPLINGS)
    session.commit()
    engine = MatchEngine()
    try:
        assert run_sampling(factory_of(session), engine, TEST_ACTOR, taken, settings=settings)
    finally:
        engine.close()
    session.expire_all()
    first = session.exec(select(VideoFrame).where(VideoFrame.video_id == video.id)
                         .order_by(VideoFrame.t)).first()
    frame_evidence = session.exec(select(EvidenceImage).where(
        EvidenceImage.image_id == first.image_id,
        EvidenceImage.account_id == world.account.id)).one()
    assert frame_evidence.post_url == "https://www.instagram.com/reel/R1/"
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([world.evidence[0].id, frame_evidence.id],
                                                "Threats to a victim posted from a cell."))
    pack = packs.build_pack(session, settings, td, world.account, utcnow())
    manifest, names = unzip(pack.data)
    assert manifest["videos"] == [{
        "video_id": video.id, "sha256": hashlib.sha256(clip).hexdigest(),
        "container": "mp4", "codec": "h264", "seconds": video.duration,
        "byte_size": len(clip), "file_created_at": None,
        "post_url": "https://www.instagram.com/reel/R1/", "posted_at": None,
        "cited": False,  # a frame chosen as an image: the video itself was not cited
        "erased": False, "frames": [{"image_id": first.image_id, "t": first.t}]}]
    frame_entry = manifest["images"][1]
    assert (frame_entry["video_id"], frame_entry["t"]) == (video.id, first.t)
    assert frame_entry["file"] in names and "video_id" not in manifest["images"][0]
    assert not any(name.endswith((".mp4", ".mov")) for name in names)  # never the video
