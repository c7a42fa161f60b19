"""A match worker killed with SIGKILL in the middle of a clip pass: nothing of the pass was
stored, and once another worker runs (the claim's lease lapsed), the pass completes once (one
link, one audit event, attempt 2). Real `cellwatch worker` processes, on a SQLite file and on
PostgreSQL (the approach of test_worker_killed.py)."""

import json
import os
import signal
import subprocess
import sys

from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.matching.models import ClipPass, Match
from tests.matching.clip_scenes import UNREACHABLE, zoom_video
from tests.matching.test_clip_queue import sample, stages
from tests.matching.test_worker_killed import LEASE, _wait_for, live  # noqa: F401


def _worker(settings, log_path, pause):
    env = {**os.environ, "CELLWATCH_DATABASE_URL": settings.database_url,
           "CELLWATCH_DATA_DIR": str(settings.data_dir),
           "CELLWATCH_MATCH_LEASE_SECONDS": str(LEASE),
           "CELLWATCH_MATCH_VERIFY_MIN_SCORE": str(UNREACHABLE),
           # one thread: on a loaded machine a pass can outlast the short lease before its
           # pause, and a second thread of the same worker would take it again meanwhile
           "CELLWATCH_MATCH_WORKER_THREADS": "1",
           "CELLWATCH_TEST_SECOND_STAGE_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                             "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log_path.open("w"))


def test_a_worker_killed_mid_pass_leaves_it_to_the_next_which_runs_it_once(
        live, tmp_path):  # noqa: F811
    settings, factory, index = live
    video_id, reference = zoom_video(settings, factory, index)
    sample(factory, index, settings, video_id)
    stages(factory, index, settings)  # every frame's own stage done: the pass is all there is

    log = tmp_path / "first-worker.log"
    first = _worker(settings, log, pause=60)
    try:  # it has run the pass and waits to commit it: kill it there
        _wait_for(lambda: "test pause: clip pass of video" in log.read_text(), 120,
                  "the first worker's clip pass")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert f"test pause: clip pass of video {video_id} " in log.read_text()
    with factory() as s:
        row = s.get(ClipPass, video_id)
        assert row.done_at is None and row.attempts == 1  # claimed, nothing of it committed
        assert s.exec(select(Match).where(col(Match.candidate_image_id) == reference)).all() \
            == []

    second = _worker(settings, tmp_path / "second-worker.log", pause=0)
    try:
        def done() -> bool:
            with factory() as s:
                return s.get(ClipPass, video_id).done_at is not None
        _wait_for(done, 120, "the clip pass done by the second worker")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0

    with factory() as s:
        row = s.get(ClipPass, video_id)
        assert (row.attempts, row.links, row.failed_at, row.error) == (2, 1, None, "")
        found = s.exec(select(Match).where(col(Match.candidate_image_id) == reference)).all()
        assert [m.method for m in found] == ["frame_set"]  # stored once
        passes = s.exec(select(AuditEvent).where(AuditEvent.action == "match.clip_pass")).all()
        assert [json.loads(e.object_ids) for e in passes] == [[str(video_id)]]  # audited once
        assert str(found[0].id) in passes[0].details
        assert s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.clip_pass_failed")).all() == []
