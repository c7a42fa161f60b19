"""The decoding child: `python -m app.video.decode` reads one job (JSON) on stdin, limits
itself (address space, CPU, file size, no core dump) before it opens the job's file, does the
job and writes `result.json` in the job's folder. A spare child (`--warm`) has loaded FFmpeg
while it waited; a cold one loads it under those limits. Its parent (sandbox.py) kills it at the
wall-time limit; whatever happens here, the parent gets a result or a reason.

Jobs: "probe" (header facts and caps), "sample" (the frames), "preview" (the short clip
that is served).
Every job probes and checks the caps first: nothing is decoded that the caps refuse.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def _limit(memory: int, cpu_seconds: int, output: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(job: dict) -> dict:
    from app.video.caps import Caps, Limits
    from app.video.probe import check, probe
    from app.video.sniff import Sniffed

    caps, limits = Caps.from_dict(job["caps"]), Limits.from_dict(job["limits"])
    folder, source, name = Path(job["folder"]), Path(job["source"]), job["filename"]
    sniffed = Sniffed(**job["sniffed"])
    info = probe(source, sniffed, caps, name)
    check(info, caps, name)
    if job["task"] == "probe":
        return {"info": info.to_dict()}
    if job["task"] == "preview":
        from app.video.derivatives import encode_preview

        stats = encode_preview(source, info, caps, limits, folder / "preview.mp4", name)
        return {"info": info.to_dict(), "stats": stats}
    from app.video.frames import Sink, sample_animation, write_manifest
    from app.video.segments import sample_video

    sampler = sample_animation if info.kind == "animation" else sample_video
    with (folder / "frames.raw").open("wb") as out:
        sink = Sink(out, limit=limits.max_samples)
        stats = sampler(source, info, caps, limits, sink, name)
    if not sink.entries:
        return {"failed": "empty"}
    write_manifest(folder, sink, stats, info)
    return {"info": info.to_dict(), "stats": stats}


def _preload() -> None:
    """A spare child (`--warm`) loads what a job needs while it waits for one: the file it
    will be given is opened only after _limit."""
    import av  # noqa: F401 - FFmpeg's libraries, the slowest part of a start

    from app.video import derivatives, frames, probe, segments  # noqa: F401


def main() -> None:
    if "--warm" in sys.argv:
        _preload()
    text = sys.stdin.read()
    if not text:  # a spare child whose parent has gone (or closed it): nothing to do
        return
    job = json.loads(text)
    if job.get("nice"):  # work nobody waits for (a preview): behind the matching
        os.nice(int(job["nice"]))
    limits = job["limits"]
    _limit(int(limits["memory_bytes"]), int(limits["wall_seconds"] * 2) + 5,
           int(limits["output_bytes"]))
    folder = Path(job["folder"])
    try:
        result = run(job)
    except (MemoryError, ImportError) as exc:  # an import fails only if the limit is too low
        result = {"failed": "memory", "detail": f"{type(exc).__name__}: {exc}"[:200]}
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason for the parent
        result = _failure(exc)
    (folder / "result.json").write_text(json.dumps(result))


def _failure(exc: Exception) -> dict:
    from app.video.refusal import Refusal

    if isinstance(exc, Refusal):
        return {"refused": exc.message, "reason": exc.reason, "problems": exc.problems}
    import av

    # ENOMEM, or EAGAIN from opening the decoder: its threads' stacks did not fit the limit
    if isinstance(exc, av.error.MemoryError | av.error.BlockingIOError):
        return {"failed": "memory"}
    if isinstance(exc, av.FFmpegError):
        return {"failed": "damaged", "detail": str(exc)[:200]}
    return {"failed": "error", "detail": f"{type(exc).__name__}: {exc}"[:200]}


if __name__ == "__main__":
    main()
