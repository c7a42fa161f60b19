"""Erasing an account's evidence (early, or by retention) erases its videos as its images:
the video's key and files (original, poster, preview) and its frames' images; a video another
account also posted is kept."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.evidence import storage
from app.evidence.models import EvidenceVideo, Image, Video, VideoFrame
from tests.conftest import login, page_csrf
from tests.lifecycle.conftest import HANDLE
from tests.lifecycle.test_early_erasure import _erase
from tests.video import clips


def _post_video(client, handle: str, clip: bytes) -> int:
    r = client.post("/api/v1/accounts", data={"account": f"@{handle}", "platform": "instagram"},
                    files=[("files", ("reel.mp4", clip, "video/mp4"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code in (200, 201), r.text
    return r.json()["videos"][0]["video_id"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_erasing_an_account_erases_its_videos_and_their_frames(client, world, session,
                                                               settings):
    login(client, world.analyst.username)
    mine = _post_video(client, HANDLE, clips.small_clip(seconds=2))
    shared_clip = clips.small_clip(seconds=1, size=(80, 64))
    shared = _post_video(client, HANDLE, shared_clip)
    assert _post_video(client, "someone_else", shared_clip) == shared
    session.expire_all()
    video = session.get(Video, mine)
    key = video.storage_key
    frames = [f.image_id for f in session.exec(select(VideoFrame).where(
        VideoFrame.video_id == mine))]
    assert frames and all(p.exists() for p in storage.paths_of(settings, key,
                                                               storage.VIDEO_KINDS))
    login(client, world.supervisor.username)
    r = _erase(client, world.account)
    assert r.status_code == 200, r.text
    assert r.json()["videos_erased"] == [mine]
    session.expire_all()
    video = session.get(Video, mine)
    assert video.erased_at is not None and video.wrapped_key == b"" and video.sha256 == ""
    assert not any(p.exists() for p in storage.paths_of(settings, key, storage.VIDEO_KINDS))
    assert all(session.get(Image, i).erased_at is not None for i in frames)
    assert client.get(f"/videos/{mine}/poster").status_code == 410
    # the clip the other account posted too stays held, with its frames
    assert session.get(Video, shared).erased_at is None
    assert client.get(f"/videos/{shared}/poster").status_code == 200
    links = session.exec(select(EvidenceVideo).where(EvidenceVideo.video_id == shared)).all()
    assert sorted(link.erased_at is None for link in links) == [False, True]
