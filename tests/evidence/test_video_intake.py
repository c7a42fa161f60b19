"""Videos through the intake routes: taken in beside photos, sealed and waiting, sampled after
the answer (no match workers in tests), their frames matched as photos are; a refused video
refuses the whole submission and stores nothing."""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage
from sqlalchemy import func
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, Video, VideoFrame
from tests.conftest import login, page_csrf
from tests.evidence import samples
from tests.evidence.conftest import stored_files
from tests.video import clips

pytestmark = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _video(name: str, data: bytes, kind: str = "video/mp4") -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, data, kind))


@pytest.fixture
def analyst(as_role):
    client, _user = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_video_is_taken_in_sampled_and_its_frames_held_as_images(analyst, session, settings):
    clip = clips.small_clip(seconds=3, size=(160, 96))
    r = analyst.post("/api/v1/images", files=[_video("story.mp4", clip)],
                     data={"post_url": "https://instagram.example/p/1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["images"] == []
    (video,) = body["videos"]
    assert video["kind"] == "video" and video["sampling"] == "waiting"
    assert video["container"] == "mp4" and video["codec"] == "h264"
    assert video["width"] == 160 and video["height"] == 96
    assert video["duration"] == pytest.approx(3, abs=0.2)
    assert video["original_filename"] == "story.mp4"
    # sampled once the answer had gone: its frames are images, each linked to the same post
    shown = analyst.get(f"/api/v1/videos/{video['video_id']}").json()
    assert shown["sampling"] == "sampled" and shown["sampling_error"] is None
    assert len(shown["frames"]) >= 3
    assert [f["at"] for f in shown["frames"][:2]] == ["0:00", "0:01"]
    assert all(f["second_stage_done"] for f in shown["frames"])
    # the frames of one clip show one scene: never offered as candidates of each other
    frame_ids = {f["image_id"] for f in shown["frames"]}
    assert not [c for f in shown["frames"] for c in f["candidates"] if c["image_id"] in frame_ids]
    row = session.get(Video, video["video_id"])
    assert row is not None and row.frames == len(shown["frames"])
    frame_ids = [f["image_id"] for f in shown["frames"]]
    held = session.exec(select(EvidenceImage).where(EvidenceImage.image_id.in_(frame_ids))).all()
    assert {e.post_url for e in held} == {"https://instagram.example/p/1"}
    # the frame's original is the lossless PNG, its display copy a JPEG
    assert {session.get(Image, i).format for i in frame_ids} == {"png"}
    display = analyst.get(shown["frames"][0]["display_url"])
    assert display.headers["content-type"] == "image/jpeg"
    # the poster and preview are served; the stored original is sealed (no video signature)
    poster = analyst.get(shown["poster_url"])
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert PILImage.open(io.BytesIO(poster.content)).format == "JPEG"
    preview = analyst.get(shown["preview_url"])
    assert preview.status_code == 200 and preview.headers["content-type"] == "video/mp4"
    assert preview.content[4:8] == b"ftyp" and preview.content != clip
    for path in stored_files(settings):
        assert clip[:32] not in path.read_bytes()
    actions = set(session.exec(select(AuditEvent.action)).all())
    assert {"evidence.video.stored", "evidence.videos.submitted", "evidence.video.sampled",
            "evidence.video.viewed", "evidence.video.displayed"} <= actions


def test_a_video_and_a_photo_with_an_account(analyst, session):
    clip = clips.small_clip(seconds=2)
    r = analyst.post("/api/v1/accounts", data={"account": "https://www.instagram.com/cellvid"},
                     files=[_video("reel.mp4", clip),
                            ("files", ("p.jpg", samples.jpeg(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["images"]) == 1 and len(body["videos"]) == 1
    account_id = body["account"]["id"]
    posts = session.exec(select(EvidenceVideo).where(EvidenceVideo.account_id == account_id)).all()
    assert len(posts) == 1
    video_id = body["videos"][0]["video_id"]
    frames = session.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)).all()
    assert frames
    linked = session.exec(select(EvidenceImage.image_id).where(
        EvidenceImage.account_id == account_id)).all()
    assert {f.image_id for f in frames} <= set(linked)


def test_the_same_video_twice_is_one_video(analyst, session):
    clip = clips.small_clip(seconds=1)
    first = analyst.post("/api/v1/images", files=[_video("a.mp4", clip)])
    again = analyst.post("/api/v1/images", files=[_video("a.mp4", clip)])
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["videos"][0]["video_id"] == again.json()["videos"][0]["video_id"]
    assert again.json()["videos"][0]["created"] is False
    assert _count(session, Video) == 1


def test_an_animated_gif_is_a_video(analyst, session):
    r = analyst.post("/api/v1/images", files=[_video("loop.gif", clips.gif(12, side=48),
                                                     "image/gif")])
    assert r.status_code == 201, r.text
    assert r.json()["videos"][0]["container"] == "gif"


def _truncated() -> bytes:
    whole = clips.small_clip(seconds=2)
    return whole[:len(whole) // 2]


HOSTILE = [
    ("cut.mp4", _truncated, 422, "damaged or incomplete"),
    ("long.mp4", lambda: clips.patch_durations(clips.small_clip(seconds=1), 36000), 422,
     "lasts 10 h"),
    ("clip.mp4", lambda: clips.small_clip(seconds=1, fmt="matroska"), 422, "Matroska"),
    ("random.mp4", lambda: bytes(range(256)) * 200, 422, "not a video we recognise"),
    ("tiny.mp4", lambda: clips.many_tiny_frames(100_000, rate=1000), 422,
     "holds 100,000 frames; the limit is 21,600"),
    ("huge.webm", lambda: clips.huge_frames(16000), 422, "16000×16000 pixels"),
    ("many.gif", lambda: clips.gif(10_000), 422, "more than 1,000 frames"),
    ("streams.mp4", lambda: clips.many_streams(40), 422, "It holds 40 streams"),
]


@pytest.mark.parametrize(("name", "make", "status", "words"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_videos_refuse_the_whole_submission(analyst, session, settings, name, make,
                                                    status, words):
    photo = ("files", ("ok.jpg", samples.jpeg(), "image/jpeg"))
    r = analyst.post("/api/v1/images", files=[photo, _video(name, make())])
    assert r.status_code == status, r.text
    body = r.json()
    assert "1 of 2 files were refused" in body["message"]
    (problem,) = body["detail"]
    assert problem["filename"] == name and words in problem["message"], problem
    assert _count(session, Video) == 0 and _count(session, Image) == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize(("name", "make", "status", "words"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_videos_on_the_form(analyst, session, settings, name, make, status, words):
    r = analyst.post("/intake", files=[_video(name, make())])
    assert r.status_code == status
    assert name in r.text and words in r.text and "Nothing was stored" in r.text
    assert _count(session, Video) == 0 and stored_files(settings) == []


def test_withdrawing_a_video_withdraws_its_frames(analyst, make_user, session, settings):
    r = analyst.post("/api/v1/images", files=[_video("a.mp4", clips.small_clip(seconds=2))])
    video_id = r.json()["videos"][0]["video_id"]
    frames = [f["image_id"] for f in analyst.get(f"/api/v1/videos/{video_id}").json()["frames"]]
    assert frames
    refused = analyst.request("DELETE", f"/api/v1/videos/{video_id}",
                              json={"reason": "Sent in error, wrong account"})
    assert refused.status_code == 403  # an analyst may not withdraw
    del analyst.headers["X-CSRF-Token"]  # the analyst's session's token
    login(analyst, make_user("supervisor").username)
    analyst.headers["X-CSRF-Token"] = page_csrf(analyst, "/intake")
    short = analyst.request("DELETE", f"/api/v1/videos/{video_id}", json={"reason": "no"})
    assert short.status_code == 422 and session.get(Video, video_id).erased_at is None
    done = analyst.request("DELETE", f"/api/v1/videos/{video_id}",
                           json={"reason": "Sent in error, wrong account"})
    assert done.status_code == 200, done.text
    assert sorted(done.json()["frames_withdrawn"]) == sorted(frames)
    session.expire_all()
    assert session.get(Video, video_id).wrapped_key == b""
    assert all(session.get(Image, i).erased_at is not None for i in frames)
    assert stored_files(settings) == []  # original, poster, preview and frames: all gone
    assert analyst.get(f"/videos/{video_id}/preview").status_code == 410
    again = analyst.request("DELETE", f"/api/v1/videos/{video_id}",
                            json={"reason": "Sent in error, wrong account"})
    assert again.status_code == 409


def test_a_sampled_video_posted_by_another_account_brings_its_frames(analyst, session):
    clip = clips.small_clip(seconds=2)
    ids = []
    for handle in ("first_poster", "second_poster"):
        r = analyst.post("/api/v1/accounts", data={"account": f"@{handle}",
                                                   "platform": "instagram"},
                         files=[_video("reel.mp4", clip)])
        assert r.status_code == 201, r.text
        ids.append((r.json()["account"]["id"], r.json()["videos"][0]["video_id"]))
    (first, video_id), (second, again) = ids
    assert again == video_id  # one video, sampled once (after the first answer)
    frames = {f.image_id for f in session.exec(select(VideoFrame).where(
        VideoFrame.video_id == video_id))}
    assert frames
    for account_id in (first, second):
        held = set(session.exec(select(EvidenceImage.image_id).where(
            EvidenceImage.account_id == account_id)))
        assert frames <= held, account_id
