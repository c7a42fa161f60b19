"""The decoding child: whatever it meets, the caller gets frames or a reason."""

import os
import signal

import pytest

from app.video import Caps, Limits, VideoRefused, sample
from app.video.caps import MB
from app.video.sandbox import _died
from tests.video import clips


@pytest.fixture
def cold_child(monkeypatch):
    """No spare child: the job's child starts when the job does, so that no decode of any clip
    finishes within a limit shorter than a child's start."""
    monkeypatch.setattr("app.video.sandbox.KEEP_SPARE", False)
    monkeypatch.setattr("app.video.sandbox._spare", None)


def test_a_decode_over_the_wall_time_is_stopped_and_said(cold_child):
    with pytest.raises(VideoRefused) as refused:
        sample(clips.small_clip(seconds=1), "slow.mp4", limits=Limits(wall_seconds=0.05))
    assert refused.value.reason == "timeout"
    assert refused.value.message == ("“slow.mp4” took longer than 0.05 s to decode and was "
                                     "stopped.")


def test_a_header_read_over_its_own_shorter_limit_is_stopped_and_said(cold_child):
    from app.video import inspect

    with pytest.raises(VideoRefused) as refused:
        inspect(clips.small_clip(seconds=1), "slow.mp4", limits=Limits(probe_seconds=0.05))
    assert refused.value.reason == "timeout"
    assert refused.value.message == ("“slow.mp4” took longer than 0.05 s to read and was "
                                     "stopped.")


def test_a_decode_over_the_memory_limit_is_stopped_and_said():
    # caps lifted so that the 16K frame reaches the decoder: 384 MB for its planes alone
    lax = Caps(max_long_side=20_000, max_short_side=20_000)
    with pytest.raises(VideoRefused) as refused:
        sample(clips.huge_frames(16000), "huge.webm", caps=lax,
               limits=Limits(memory_bytes=400 * MB))
    assert refused.value.reason == "memory"
    assert refused.value.message == ("“huge.webm” needs more than 400 MB of memory to decode; "
                                     "it was stopped.")


def test_a_child_killed_by_a_signal_is_a_crash_not_an_exception():
    refusal = _died(-signal.SIGSEGV, "bad.mp4", Limits())
    assert refusal.reason == "crashed"
    assert "made the video decoder fail" in refusal.message
    assert _died(-signal.SIGXCPU, "bad.mp4", Limits()).reason == "timeout"


def test_the_child_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    sample(clips.small_clip(seconds=1), "clip.mp4")
    with pytest.raises(VideoRefused):
        sample(os.urandom(1000), "random.mp4")
    assert list(tmp_path.iterdir()) == []


def test_the_child_sees_none_of_the_servers_settings(monkeypatch, tmp_path):
    import subprocess

    from app.video import Caps
    from app.video.sandbox import run_job
    from app.video.sniff import Sniffed

    monkeypatch.setenv("CELLWATCH_MASTER_KEY", "must-not-leak")
    source = tmp_path / "input"
    source.write_bytes(clips.small_clip(seconds=1))
    seen: list[dict[str, str]] = []
    real_popen = subprocess.Popen

    def watched(*args, **kwargs):  # the real child runs; its environment is noted
        seen.append(kwargs["env"])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr("app.video.sandbox.subprocess.Popen", watched)
    monkeypatch.setattr("app.video.sandbox._spare", None)  # this job's child starts now
    result = run_job("probe", tmp_path, source, Sniffed("video", "mp4"), Caps(), Limits(),
                     "x.mp4")
    assert result["info"]["codec"] == "h264"
    assert len(seen) == 2  # the job's child, then the spare started for the next job
    assert all("CELLWATCH_MASTER_KEY" not in env and env["MALLOC_ARENA_MAX"] == "2"
               for env in seen)


def test_a_spare_child_waits_ready_and_takes_the_next_job(tmp_path):
    from app.video import sandbox

    sample(clips.small_clip(seconds=1), "first.mp4")
    spare = sandbox._spare
    assert spare is not None and spare.poll() is None  # started once the job was done
    frames = sample(clips.small_clip(seconds=2), "second.mp4").frames
    assert frames and spare.poll() == 0  # it ran the second job and left
    assert sandbox._spare is not spare and sandbox._spare.poll() is None  # the next one waits


def test_a_spare_child_that_died_is_replaced_and_the_job_still_runs():
    from app.video import sandbox

    sample(clips.small_clip(seconds=1), "first.mp4")
    dead = sandbox._spare
    dead.kill()
    dead.wait()
    assert sample(clips.small_clip(seconds=1), "second.mp4").frames


def test_a_spare_child_leaves_when_its_input_ends():

    from app.video import sandbox

    child = sandbox._start_child()
    child.communicate(b"", timeout=30)  # what its parent's end does to the pipe
    assert child.returncode == 0
