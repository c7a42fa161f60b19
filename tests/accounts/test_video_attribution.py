"""A clip filmed in a cell: its frame matches the cell's reference photo, shows side by side
with its time in the clip, and confirming it leads to attribution as a photo's does (the day
from the post time, else the file's creation time, else intake)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlmodel import select

from app.accounts.models import Account, AccountLink, Attribution
from app.evidence.models import Image, VideoFrame
from app.evidence.videos import frames_of
from app.search.service import dossier
from tests.accounts.conftest import upload_reference
from tests.conftest import TEST_ACTOR, login, page_csrf
from tests.matching import scenes
from tests.video import clips

pytestmark = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _clip_of(rgb: np.ndarray, seconds: int = 3, **kw: object) -> bytes:
    """The room held still for a few seconds, as a phone would film it (640x480, H.264)."""
    still = np.asarray(PILImage.fromarray(rgb).resize((640, 480), PILImage.Resampling.LANCZOS))
    return clips.encode([still] * (seconds * 10), rate=10, **kw)  # type: ignore[arg-type]


def _submit(client, clip: bytes, posted_at: str | None):
    data = {"account": "@filmed_cell", "platform": "instagram"}
    if posted_at:
        data["posted_at"] = posted_at
    r = client.post("/api/v1/accounts", data=data, files=[("files", ("reel.mp4", clip,
                                                                     "video/mp4"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 201, r.text
    return r.json()


def _cell_frame(client, video_id: int):
    video = client.get(f"/api/v1/videos/{video_id}").json()
    assert video["sampling"] == "sampled", video
    return [f for f in video["frames"] if any(c["kind"] == "cell" for c in f["candidates"])]


def test_a_frame_matches_the_cell_and_confirming_it_suggests_its_occupant(
        client, make_user, estate, session):
    rgb = scenes.room(91)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, make_user("analyst").username)
    body = _submit(client, _clip_of(rgb), "2025-01-20T09:00")
    video_id, account_id = body["videos"][0]["video_id"], body["account"]["id"]
    matched = _cell_frame(client, video_id)
    assert matched, "no frame of the clip matched the cell"
    frame = matched[0]
    # a still clip: its frames are near-duplicates of each other, never offered as candidates
    frame_ids = {f.image_id for f in frames_of(session, video_id)}
    assert len(frame_ids) > 1
    assert not [c for f in matched for c in f["candidates"] if c["image_id"] in frame_ids]
    (cell,) = [c for c in frame["candidates"] if c["kind"] == "cell"]
    assert cell["cell"]["label"] == "A-1-014"
    # the video page: the frame side by side with the reference photo, at its time
    page = client.get(f"/videos/{video_id}")
    assert page.status_code == 200
    assert f"Frame at {frame['at']}" in page.text and "Cell <strong>A-1-014</strong>" in page.text
    assert 'preload="none"' in page.text and "autoplay" not in page.text
    assert f'src="/videos/{video_id}/preview" type="video/mp4"' in page.text
    # the account page lists the video and its matched frame
    account_page = client.get(f"/accounts/{account_id}")
    assert f"Video {video_id}</a>" in account_page.text
    assert f"Frame at {frame['at']} of video {video_id}" in account_page.text
    # its frames are images held, but counted with the video, never as the account's images
    assert "Images (0)" in account_page.text and "more image(s) not shown" not in account_page.text
    assert (f"Besides its images, {len(frame_ids)} frames sampled from its videos"
            in account_page.text)
    # its triage priority counts the clip once, not each of its frames
    session.expire_all()
    held = session.get(Account, account_id)
    assert held.image_count == 1
    assert held.newest_post_at.date().isoformat() == "2025-01-20"
    row = client.get("/accounts").text.split(f'href="/accounts/{account_id}"', 1)[1]
    assert "images and videos held (a video counts once) +2" in row.split("</tr>", 1)[0]
    # the review queue says which clip the frame is from
    queue = client.get("/review")
    assert f"Frame at {frame['at']} of" in queue.text
    r = client.post(f"/api/v1/matches/{cell['match_id']}/confirm",
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.text
    session.expire_all()
    suggested = session.exec(select(Attribution).where(
        Attribution.account_id == account_id)).all()
    # posted 20 January 2025: ADAMS and COLE were in the cell that day, BAKER not yet
    assert {a.prisoner_id for a in suggested} == {estate["adams"].id, estate["cole"].id}
    # ADAMS's dossier lists the account's video
    held = dossier(session, TEST_ACTOR, "A1111AA", "Investigation 2026/301: filmed in a cell")
    (account,) = [a for a in held.accounts if a.account_id == account_id]
    assert [(v.video_id, v.sampling) for v in account.videos] == [(video_id, "sampled")]
    assert account.videos[0].frames == len(frames_of(session, video_id))


def test_without_a_post_time_the_day_is_the_files_own(client, make_user, estate, session):
    rgb = scenes.room(92)
    login(client, make_user("supervisor").username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, make_user("analyst").username)
    clip = _clip_of(rgb, metadata={"creation_time": "2025-04-02T10:00:00.000000Z"})
    body = _submit(client, clip, None)
    video_id, account_id = body["videos"][0]["video_id"], body["account"]["id"]
    assert body["videos"][0]["file_created_at"].startswith("2025-04-02T10:00")
    frames = session.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)).all()
    taken = {session.get(Image, f.image_id).exif_taken_at for f in frames}
    assert {t.date().isoformat() for t in taken} == {"2025-04-02"}
    (frame, *_) = _cell_frame(client, video_id)
    (cell,) = [c for c in frame["candidates"] if c["kind"] == "cell"]
    client.post(f"/api/v1/matches/{cell['match_id']}/confirm",
                headers={"X-CSRF-Token": page_csrf(client)})
    session.expire_all()
    suggested = session.exec(select(Attribution).where(
        Attribution.account_id == account_id)).all()
    # 2 April 2025: BAKER had moved in (10 March); ADAMS had moved out
    assert {a.prisoner_id for a in suggested} == {estate["baker"].id}


def test_a_re_encoded_clip_on_another_account_links_the_two_accounts(client, make_user,
                                                                     session):
    login(client, make_user("analyst").username)
    frames = clips.pan_frames(clips.scene(5, (200, 96)), (160, 96), 30)
    first = _submit_as(client, "@clip_first", clips.encode(frames, rate=15))
    again = _submit_as(client, "@clip_again", clips.encode(frames, rate=15, codec="mpeg4"))
    assert first["videos"][0]["video_id"] != again["videos"][0]["video_id"]  # other bytes
    session.expire_all()
    ends = {first["account"]["id"], again["account"]["id"]}
    made = session.exec(select(AccountLink)).all()
    assert [{link.account_id, link.other_account_id} for link in made] == [ends]
    assert made[0].kind == "shared_image"


def _submit_as(client, account: str, clip: bytes):
    r = client.post("/api/v1/accounts", data={"account": account, "platform": "instagram"},
                    files=[("files", ("clip.mp4", clip, "video/mp4"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 201, r.text
    return r.json()
