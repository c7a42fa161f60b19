"""Citing a video in a takedown as a photo is cited: the drafter ticks the account's video,
its matched frames go in the pack as display copies, the manifest names its original by
sha256 (the video itself never leaves), and the takedown page lists the cited video. A video
that cannot show anything (not sampled, withdrawn, no frame matched, another account's) is
refused beside its field, and nothing is saved."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlmodel import select

from app.accounts.models import Account
from app.db import utcnow
from app.evidence import videos
from app.evidence.models import EvidenceImage, Video, VideoFrame
from app.matching import queue
from app.matching.engine import MatchEngine
from app.matching.models import Match
from app.matching.sampling import run_sampling
from app.takedowns import packs, service
from app.takedowns.drafts import DraftRefused
from app.takedowns.models import NoticePreview, Takedown, TakedownImage, TakedownVideo
from tests.conftest import TEST_ACTOR, csrf_from, page_csrf
from tests.takedowns.conftest import doer
from tests.takedowns.helpers import (
    audits,
    complete_draft,
    details,
    draft_form,
    factory_of,
    sign_in,
    unzip,
)
from tests.video import clips

POST = "https://www.instagram.com/reel/R9/"


def _video(session, settings, account_id, seconds: float = 2, url: str = POST,
           seed: int = 1) -> Video:
    clip = clips.small_clip(seconds=seconds) if seed == 1 else clips.encode(
        clips.pan_frames(clips.scene(seed, (120, 64)), (96, 64), int(seconds * 15)), rate=15)
    video, _ = videos.store(session, settings, TEST_ACTOR,
                            videos.prepare(settings, data=clip, filename="reel.mp4"))
    post, _ = videos.link_post(session, TEST_ACTOR, video, filename="reel.mp4", url=url,
                               posted_at=None)
    post.account_id = account_id
    session.add(post)
    session.commit()
    return video


def _sampled(session, settings, account_id, seconds: float = 2, seed: int = 1) -> Video:
    video = _video(session, settings, account_id, seconds, seed=seed)
    taken = queue.claim(session, video.id, utcnow(), on=queue.SAMPLINGS)
    session.commit()
    engine = MatchEngine()
    try:
        assert run_sampling(factory_of(session), engine, TEST_ACTOR, taken, settings=settings)
    finally:
        engine.close()
    session.expire_all()
    return session.get(Video, video.id)


def _frames(session, video_id) -> list[VideoFrame]:
    return list(session.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)
                             .order_by(VideoFrame.t)).all())


def _match(session, frame: VideoFrame, other_image_id: int, status: str = "pending") -> None:
    """The frame matched a held image (as the matching stages record it)."""
    session.add(Match(query_image_id=frame.image_id, candidate_image_id=other_image_id,
                      method="phash", distance=6, status=status))
    session.commit()


def _evidence_of(session, account_id, image_id) -> int:
    return session.exec(select(EvidenceImage.id).where(
        EvidenceImage.image_id == image_id, EvidenceImage.account_id == account_id)).one()


@pytest.fixture
def cited(session, settings, world):
    """The world's account with a sampled video, its second frame matched to the cell photo."""
    video = _sampled(session, settings, world.account.id)
    frames = _frames(session, video.id)
    assert len(frames) >= 2
    _match(session, frames[1], world.reference.id)
    return video, frames[1]


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_cited_video_brings_its_matched_frames_and_its_originals_sha256(session, settings,
                                                                         world, cited):
    video, frame = cited
    unmatched = _frames(session, video.id)[0]
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([world.evidence[0].id], video_ids=(video.id,)))
    frame_evidence = _evidence_of(session, world.account.id, frame.image_id)
    chosen = session.exec(select(TakedownImage.evidence_id).where(
        TakedownImage.takedown_id == td.id)).all()
    assert sorted(chosen) == sorted([world.evidence[0].id, frame_evidence])
    assert session.exec(select(TakedownVideo.video_id).where(
        TakedownVideo.takedown_id == td.id)).all() == [video.id]

    pack = packs.build_pack(session, settings, td, world.account, utcnow())
    manifest, names = unzip(pack.data)
    [entry] = manifest["videos"]
    original = videos.read_original(settings, video)
    assert entry["sha256"] == hashlib.sha256(original).hexdigest() == video.sha256
    assert (entry["video_id"], entry["cited"], entry["post_url"]) == (video.id, True, POST)
    assert entry["frames"] == [{"image_id": frame.image_id, "t": frame.t}]
    shown = [e for e in manifest["images"] if e.get("video_id") == video.id]
    assert [e["image_id"] for e in shown] == [frame.image_id]  # the matched frame only
    assert shown[0]["file"] in names and shown[0]["t"] == frame.t
    assert unmatched.image_id not in [e["image_id"] for e in manifest["images"]]
    assert not any(name.endswith((".mp4", ".mov", ".webm")) for name in names)
    # the chain of custody carries the video's own events (stored, sampled)
    assert {"evidence.video.stored", "evidence.video.sampled"} <= {
        e["action"] for e in manifest["chain_of_custody"] if e["object_type"] == "video"}
    [created] = audits(session, "takedown.create")
    assert details(created)["video_ids"] == [video.id]


def test_the_analyst_cites_a_video_on_the_form_and_the_draft_page_lists_it(
        client, session, settings, world, cited):
    video, frame = cited
    waiting = _video(session, settings, world.account.id, seconds=1,
                     url="https://www.instagram.com/reel/R10/")
    sign_in(client, world.analyst)
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    assert form.status_code == 200
    assert re.search(rf'name="video_ids" value="{video.id}">', form.text)  # offered
    assert re.search(rf'name="video_ids" value="{waiting.id}" disabled>', form.text)
    assert "not sampled yet (waiting)" in form.text and "1 matched frame" in form.text

    data = draft_form([], csrf_from(form.text), video_ids=[str(video.id)])
    done = client.post(f"/accounts/{world.account.id}/takedowns", data=data,
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    td = session.exec(select(Takedown)).one()
    page = client.get(f"/takedowns/{td.id}").text
    assert "Videos cited (1)" in page
    assert f'<a href="/videos/{video.id}">Video {video.id}</a>' in page
    assert video.sha256 in page and POST in page
    frame_evidence = _evidence_of(session, world.account.id, frame.image_id)
    assert f"1 matched frame among the images below (#{frame_evidence})" in page
    assert "Images in the notice (1)" in page  # the frame, as an image
    assert "names the original of 1 cited video by its SHA-256" in page
    [view] = audits(session, "takedown.view")
    assert details(view)["video_ids"] == [video.id]
    # changing the draft: the video is still ticked
    edit = client.get(f"/takedowns/{td.id}/edit").text
    assert re.search(rf'name="video_ids" value="{video.id}" checked>', edit)


def _refused_beside(client, world, video_ids):
    form = client.get(f"/accounts/{world.account.id}/takedowns/new")
    data = draft_form([], csrf_from(form.text), video_ids=[str(i) for i in video_ids])
    r = client.post(f"/accounts/{world.account.id}/takedowns", data=data)
    assert r.status_code == 422
    found = re.search(r'<span class="field-error" id="err-video_ids">([^<]*)</span>', r.text)
    assert found, r.text
    return found.group(1)


def test_a_video_that_cannot_show_anything_is_refused_and_nothing_is_saved(
        client, session, settings, world, cited):
    video, _ = cited
    other = Account(platform="instagram", handle="someone_else")
    session.add(other)
    session.commit()
    foreign = _video(session, settings, other.id, seconds=1,
                     url="https://www.instagram.com/reel/X1/")
    waiting = _video(session, settings, world.account.id, seconds=1.5,
                     url="https://www.instagram.com/reel/R11/")
    plain = _sampled(session, settings, world.account.id, seed=5)  # another scene: no match
    sign_in(client, world.analyst)
    assert f"these are not: video {foreign.id}" in _refused_beside(client, world, [foreign.id])
    assert f"not yet: video {waiting.id} (waiting)" in _refused_beside(client, world,
                                                                       [waiting.id])
    assert f"No frame of video {plain.id} matched anything held" in _refused_beside(
        client, world, [plain.id])
    with pytest.raises(DraftRefused) as refused:  # a withdrawn video
        videos.erase_videos(session, settings, TEST_ACTOR, video_ids=[video.id], now=utcnow(),
                            reason="Withdrawn: sent in error")
        service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                complete_draft([], video_ids=(video.id,)))
    assert refused.value.fields == {"video_ids": f"Withdrawn videos cannot go out: video "
                                                 f"{video.id}."}
    session.rollback()
    assert session.exec(select(Takedown)).all() == []
    assert session.exec(select(TakedownVideo)).all() == []
    assert audits(session, "takedown.create") == []


def test_the_api_cites_a_video_and_answers_with_it(client, session, world, cited):
    video, frame = cited
    sign_in(client, world.analyst)
    headers = {"X-CSRF-Token": page_csrf(client)}
    draft = complete_draft([])
    body = {"account_id": world.account.id, "video_ids": [video.id], "reason": draft.reason,
            "legal_basis": draft.legal_basis, "contact": draft.contact, "good_faith": True}
    none = client.post("/api/v1/takedowns", json={**body, "video_ids": []}, headers=headers)
    assert none.status_code == 422
    assert "at least one image or video" in none.json()["detail"]["fields"]["evidence_ids"]
    made = client.post("/api/v1/takedowns", json=body, headers=headers)
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["video_ids"] == [video.id]
    frame_evidence = _evidence_of(session, world.account.id, frame.image_id)
    assert out["evidence_ids"] == [frame_evidence]
    [cited_out] = out["basis"]["videos"]
    assert cited_out == {"video_id": video.id, "sha256": video.sha256, "post_url": POST,
                         "withdrawn": False, "frame_evidence_ids": [frame_evidence]}


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_the_notice_names_the_cited_video_and_which_frame_comes_from_it(session, settings,
                                                                      world, cited):
    video, frame = cited
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([world.evidence[0].id], video_ids=(video.id,)))
    body = session.get(NoticePreview, td.id).body
    # the platform reads where the video was posted and which original it is, by its sha256
    assert "Videos (1)." in body
    assert f"V1. {POST}" in body and f"SHA-256 {video.sha256}" in body
    assert f"- {POST}" in body  # among the addresses concerned
    assert f"a frame at {videos.clock(frame.t)} of video V1" in body
    # the first image is a photo, not a frame: it names no video
    photo = body.split("\n1. ", 1)[1].split("\n2. ", 1)[0]
    assert "a frame at" not in photo


def test_a_notice_without_videos_says_nothing_of_videos(session, settings, world):
    td = service.create_takedown(session, settings, doer(world.analyst), world.account.id,
                                 complete_draft([world.evidence[0].id]))
    body = session.get(NoticePreview, td.id).body
    assert "Videos (" not in body and "a frame at" not in body
    assert "Evidence (1 image)" in body


def test_a_pack_made_before_videos_could_be_cited_still_gives_its_notice_text():
    """A stored pack's manifest is read again for a reminder: one written before videos had a
    post and a 'cited' mark names the video by its original alone."""
    from app.takedowns.notices import cited_videos_of

    older = {"videos": [{"video_id": 4, "sha256": "a" * 64, "container": "mp4", "codec": "h264",
                         "seconds": 15.2, "byte_size": 1, "file_created_at": None,
                         "erased": False, "frames": [{"image_id": 9, "t": 3.0}]}]}
    assert cited_videos_of(older) == [{"number": "V1", "video_id": 4, "sha256": "a" * 64,
                                       "post_url": "", "posted_at": "", "length": "0:15",
                                       "cited": False}]
    assert cited_videos_of({"images": []}) == []
