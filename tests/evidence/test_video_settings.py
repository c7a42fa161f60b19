"""What the CELLWATCH_VIDEO_* settings and the lease settings do through the routes: a video
larger than a photo may be is taken in while a photo of that size is still refused, the caps
are the settings', and a video that cannot be sampled shows why on its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import page_csrf
from tests.evidence.conftest import stored_files
from tests.video import clips

PHOTO_CAP = 8 * 1024


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, max_upload_bytes=PHOTO_CAP, match_attempts=1,
                    video_max_seconds=4)


@pytest.fixture
def analyst(as_role):
    client, _user = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


def test_a_video_over_the_photo_cap_is_taken_in_and_a_photo_is_not(analyst, settings):
    clip = clips.small_clip(seconds=3, size=(320, 240))
    assert len(clip) > 2 * PHOTO_CAP
    r = analyst.post("/api/v1/images", files=[("files", ("big.mp4", clip, "video/mp4"))])
    assert r.status_code == 201, r.text
    photo = b"\xff\xd8\xff" + b"\x00" * len(clip)
    refused = analyst.post("/api/v1/images", files=[("files", ("big.jpg", photo,
                                                               "image/jpeg"))])
    assert refused.status_code == 413
    (problem,) = refused.json()["detail"]
    assert problem["filename"] == "big.jpg" and "per image" in problem["message"]


def test_the_length_cap_is_the_setting(analyst, settings):
    r = analyst.post("/api/v1/images", files=[("files", ("five.mp4", clips.small_clip(seconds=5),
                                                         "video/mp4"))])
    assert r.status_code == 422
    assert "the limit is 4 s" in r.json()["detail"][0]["message"]
    assert stored_files(settings) == []


def test_a_video_that_cannot_be_sampled_says_why(analyst):
    whole = clips.small_clip(seconds=2, faststart=True)  # its header passes; its frames do not
    r = analyst.post("/api/v1/images", files=[("files", ("cut.mp4", whole[:len(whole) // 2],
                                                         "video/mp4"))])
    assert r.status_code == 201, r.text
    video_id = r.json()["videos"][0]["video_id"]
    shown = analyst.get(f"/api/v1/videos/{video_id}").json()
    assert shown["sampling"] == "failed" and shown["frames"] == []
    assert "damaged or incomplete" in shown["sampling_error"]
    page = analyst.get(f"/videos/{video_id}").text
    assert "Sampling failed: " in page and "damaged or incomplete" in page
    assert analyst.get(f"/videos/{video_id}/poster").status_code == 404
