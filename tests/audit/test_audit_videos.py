"""A video taken in through the API leaves its rows (stored, and, sampled after the answer,
sampled); its page, its API answer, its poster and its preview are reads of evidence and
leave theirs; a failed video queued again (page and API) leaves its row."""

from __future__ import annotations

from sqlmodel import func, select

from app.audit.service import SYSTEM
from app.db import utcnow
from app.evidence import videos
from app.evidence.models import Video
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import Row, Walk, one, reads
from tests.video import clips

CLIP = clips.small_clip(seconds=2)
WHY = "Sent in error: not from this account"
AGAIN = "The worker host was restarted mid-run"


def _failed(seconds: float):  # noqa: ANN202
    """A precondition no route makes: a video whose sampling failed for good."""
    def make(walk: Walk) -> None:
        settings = walk.app.state.settings
        prepared = videos.prepare(settings, data=clips.small_clip(seconds=seconds),
                                  filename="failed.mp4")
        video, _ = videos.store(walk.session, settings, SYSTEM, prepared)
        video.failed_at, video.attempts, video.error = utcnow(), 3, "lease lapsed"
        walk.session.add(video)
        walk.session.commit()
    return make


ROWS = [
    Row("analyst", "POST", "/api/v1/images", "evidence.video.stored", "video", one("video"),
        files=(("walk.mp4", CLIP),), status=(201,)),
    *reads(
        Row("analyst", "GET", "/videos/{video}", "evidence.video.viewed", "video",
            one("video")),
        Row("analyst", "GET", "/api/v1/videos/{video}", "evidence.video.viewed", "video",
            one("video")),
        Row("analyst", "GET", "/videos/{video}/poster", "evidence.video.displayed", "video",
            one("video"), details={"form": "poster"}),
        Row("analyst", "GET", "/videos/{video}/preview", "evidence.video.displayed", "video",
            one("video"), details={"form": "preview"}),
    ),
    Row("supervisor", "POST", "/videos/{video}/retry", "evidence.video.sampling_retried",
        "video", one("video"), form={"reason": AGAIN}, purpose=AGAIN, before=_failed(1)),
    Row("supervisor", "POST", "/api/v1/videos/{video}/retry",
        "evidence.video.sampling_retried", "video", one("video"), json={"reason": AGAIN},
        purpose=AGAIN, before=_failed(1.5)),
    Row("supervisor", "DELETE", "/api/v1/videos/{video}", "evidence.video.withdrawn", "video",
        one("video"), json={"reason": WHY}, purpose=WHY),
]


def _late(walk: Walk) -> None:
    walk.world["video"] = walk.session.exec(select(func.max(Video.id))).one()


def test_a_video_through_its_routes_leaves_its_audit_rows(client, make_user, estate,  # noqa: F811
                                                          session):
    walk = Walk(client, make_user, estate, session, late=_late)
    problems = walk.run(ROWS)
    assert problems == [], "\n".join(problems)
    session.expire_all()
    video = session.get(Video, walk.world["video"])
    assert video.state == "sampled"  # sampled after the answer, and audited as such
    assert video.erased_at is not None and video.wrapped_key == b""
