"""`cellwatch matching queue` and `retry` as an operator uses them."""

import json
import re

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.cli import cli
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.evidence.images import ingest_image
from app.matching import doorbell, queue, service
from app.matching.engine import MatchEngine
from app.matching.models import MatchRun
from app.settings import get_settings
from tests.matching import scenes


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    index = MatchEngine(db=make_engine(settings.effective_database_url))
    yield runner, settings, make_session_factory(engine), index
    index.close()
    engine.dispose()
    get_settings.cache_clear()


def _stored(settings, factory, index, n):
    with unit_of_work(factory) as s:
        image, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scenes.room(n)),
                                filename="x.jpg")
        service.first_stage(s, index, SYSTEM, [image.id])
        return image.id


def test_the_queue_shows_depth_claims_and_failures_and_a_failed_stage_can_be_retried(
        env, request):
    runner, settings, factory, index = env
    failing, running, waiting = (_stored(settings, factory, index, n) for n in (91, 92, 93))
    policy = queue.Policy(attempts=1)
    with unit_of_work(factory) as s:
        taken = queue.claim(s, failing, utcnow(), "host-a:11", policy)
        queue.attempt_failed(s, taken, "RuntimeError: features unreadable", utcnow(), policy)
        queue.claim(s, running, utcnow(), "host-b:22", policy)

    shown = runner.invoke(cli, ["matching", "queue"])
    assert shown.exit_code == 0, shown.output
    assert "second stages waiting: 2 (1 running)" in shown.output
    assert "failed for good: 1" in shown.output
    assert f"image {running}: attempt 1 by host-b:22" in shown.output
    assert 0 < int(re.search(r"lease ends in (\d+) s", shown.output).group(1)) <= 120
    assert f"image {failing}: failed" in shown.output
    assert "after 1 attempt: RuntimeError: features unreadable" in shown.output
    assert f"image {waiting}" not in shown.output  # queued, neither running nor failed

    bell = doorbell.Bell(settings)  # an idle match worker's, on this host
    request.addfinalizer(bell.close)
    refused = runner.invoke(cli, ["matching", "retry", str(failing), str(waiting)])
    assert refused.exit_code == 1
    assert f"No failed second stage for image {waiting}; nothing was changed" in refused.output
    both = runner.invoke(cli, ["matching", "retry", str(failing), "--all-failed"])
    assert both.exit_code == 2
    with unit_of_work(factory) as s:  # nothing was changed
        assert s.get(MatchRun, failing).failed_at is not None
    assert not bell.wait(0)  # and no worker was rung

    again = runner.invoke(cli, ["matching", "retry", "--all-failed"])
    assert again.exit_code == 0 and f"1 failed second stage queued again: image {failing}" \
        in again.output
    assert bell.wait(0)  # the workers take it now, not at their next poll
    with unit_of_work(factory) as s:
        run = s.get(MatchRun, failing)
        assert (run.failed_at, run.attempts, run.error) == (None, 0, "")
        [event] = s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.second_stage_retry")).all()
        assert event.actor_name.startswith("cli:")
        assert json.loads(event.details)["previous"] == [
            {"image": failing, "attempts": 1, "reason": "RuntimeError: features unreadable"}]
    after = runner.invoke(cli, ["matching", "queue"]).output
    assert "second stages waiting: 3 (1 running)" in after and "failed for good: 0" in after
    assert runner.invoke(cli, ["matching", "retry", "--all-failed"]).output.startswith(
        "0 failed second stages queued again")


def test_reanalyse_recomputes_stale_features_and_drops_the_kept_index(env):
    from app.evidence.hashing import is_stale
    from app.evidence.models import ImageFeatures

    runner, settings, factory, index = env
    stale_id = _stored(settings, factory, index, 94)
    current_id = _stored(settings, factory, index, 95)
    with unit_of_work(factory) as s:
        row = s.get(ImageFeatures, stale_id)
        row.data = bytes([1]) + row.data[1:]  # as stored by the former feature version
        s.add(row)
    kept = settings.data_dir / "index"
    kept.mkdir(exist_ok=True)
    (kept / "descriptors.bin").write_bytes(b"stale")

    result = runner.invoke(cli, ["matching", "reanalyse"])
    assert result.exit_code == 0, result.output
    assert "1 image with features of an older version" in result.output
    assert "recomputed 1; failed 0" in result.output
    with unit_of_work(factory) as s:
        assert not is_stale(s.get(ImageFeatures, stale_id).data)
        assert not is_stale(s.get(ImageFeatures, current_id).data)
    assert not kept.exists()  # the next worker builds its index from the new features
    again = runner.invoke(cli, ["matching", "reanalyse"])
    assert again.exit_code == 0 and "0 images with features" in again.output


def test_reanalyse_every_recomputes_current_features_that_are_wrong(env):
    """Features of the current version with wrong keypoints (stored while two threads shared
    one detector) are left by a plain reanalyse and put right by `--every`."""
    from app.evidence.models import ImageFeatures

    runner, settings, factory, index = env
    wrong_id = _stored(settings, factory, index, 96)
    other_id = _stored(settings, factory, index, 97)
    with unit_of_work(factory) as s:
        right = s.get(ImageFeatures, wrong_id).data
        row = s.get(ImageFeatures, wrong_id)
        row.data = s.get(ImageFeatures, other_id).data  # current version, someone else's points
        s.add(row)

    plain = runner.invoke(cli, ["matching", "reanalyse"])
    assert plain.exit_code == 0 and "0 images with features of an older version" in plain.output
    with unit_of_work(factory) as s:
        assert s.get(ImageFeatures, wrong_id).data != right

    every = runner.invoke(cli, ["matching", "reanalyse", "--every"])
    assert every.exit_code == 0, every.output
    assert "2 images with features to recompute" in every.output
    assert "recomputed 2; failed 0" in every.output
    with unit_of_work(factory) as s:
        assert s.get(ImageFeatures, wrong_id).data == right
