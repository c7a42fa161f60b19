"""A video's page in Chromium: the match worker beside the server samples it, the poster shows,
and the preview plays from the app itself within the CSP, only when asked."""

from __future__ import annotations

from typing import Any

import pytest

from app.audit.service import SYSTEM
from app.evidence import videos
from tests.browser.conftest import GOOD_PASSWORD, LiveServer
from tests.browser.test_login_flow import sign_in
from tests.cellsearch.chromium import in_chromium
from tests.video import clips

pytestmark = pytest.mark.browser


def test_the_preview_plays_within_the_csp_only_when_asked(chromium_path: str,
                                                          live_server: LiveServer) -> None:
    live_server.db.create_user("ana", "analyst")
    settings = live_server.settings
    prepared = videos.prepare(settings, data=clips.small_clip(seconds=2, size=(160, 96)),
                              filename="reel.mp4")
    with live_server.db.session() as db:
        video, _ = videos.store(db, settings, SYSTEM, prepared)
        videos.link_post(db, SYSTEM, video, filename="reel.mp4", url="", posted_at=None)
        db.commit()
        video_id = video.id

    def run(page: Any, expect: Any) -> None:
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, live_server, "ana", GOOD_PASSWORD)
        for _ in range(60):  # the match worker beside the server samples it
            page.goto(f"{live_server.url}/videos/{video_id}")
            if page.locator("video.video-preview").count():
                break
            page.wait_for_timeout(500)
        player = page.locator("video.video-preview")
        expect(player).to_be_visible()
        state = player.evaluate("v => ({paused: v.paused, autoplay: v.autoplay, "
                                "ready: v.readyState, poster: v.poster})")
        assert state["paused"] and not state["autoplay"] and state["ready"] == 0  # not fetched
        assert state["poster"].endswith(f"/videos/{video_id}/poster")
        poster_ok = page.evaluate("src => new Promise(ok => { const i = new Image(); "
                                  "i.onload = () => ok(i.naturalWidth); i.onerror = () => ok(0);"
                                  " i.src = src; })", state["poster"])
        assert poster_ok > 0
        played = player.evaluate(
            "v => Promise.race([v.play().then(() => new Promise(ok => setTimeout(() => ok("
            "{t: v.currentTime, error: v.error && v.error.code}), 700)))"
            ".catch(e => ({t: -1, error: String(e)})),"
            " new Promise(ok => setTimeout(() => ok({t: -2, error: 'never started'}), 4000))])")
        assert played["error"] is None and played["t"] > 0, played
        assert [text for text in console if "Content Security Policy" in text] == []

    in_chromium(chromium_path, run)
