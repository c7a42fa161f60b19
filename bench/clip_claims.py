"""What a match worker's look at the clip-pass queue costs (queue.CLIPS, app/matching/queue.py).

Every loop of every worker asks the clip-pass queue for work (after the samplings, before the
second stages), and /readyz counts it. The look reads only the passes not done (a partial
index), and for each of them asks whether any held frame still has a second stage to run.
The worst case is a long queue of passes all waiting for their frames: every look reads them
all and finds nothing. Built here in bulk: DONE videos whose pass is done, OPEN videos of
FRAMES frames each whose frames' stages all wait; then the look (claim_next, which finds
nothing) and the backlog count are timed, REPEAT times each, on SQLite and PostgreSQL.

    nice -n 15 .venv/bin/python -m bench.clip_claims [--done 100000 --open 1000 --frames 15]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.db import make_engine, make_session_factory, utcnow
from app.matching import queue
from bench import scale_support as support

REPEAT = 50


def _load(url: str, done: int, open_: int, frames: int) -> None:
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    key = secrets.token_bytes(40)
    videos = done + open_
    db = support.Loader(url)
    db.insert("video", ["id", "sha256", "container", "codec", "width", "height", "byte_size",
                        "storage_key", "wrapped_key", "master_key_id", "sampled_at", "frames",
                        "error", "attempts", "claimed_by", "created_at"],
              ((v, f"{v:064x}", "mp4", "h264", 720, 1280, 1 << 20, f"v{v:063x}", key, "1",
                start + timedelta(seconds=v), frames if v > done else 0, "", 1, "",
                start + timedelta(seconds=v)) for v in range(1, videos + 1)))
    db.insert("clip_pass", ["video_id", "queued_at", "done_at", "links", "error", "attempts",
                            "claimed_by"],
              ((v, start + timedelta(seconds=v), start + timedelta(seconds=v + 5)
                if v <= done else None, 0, "", 1 if v <= done else 0, "")
               for v in range(1, videos + 1)))
    images = [(v, v * frames + k) for v in range(done + 1, videos + 1) for k in range(frames)]
    db.insert("image", ["id", "sha256", "format", "byte_size", "width", "height", "storage_key",
                        "wrapped_key", "master_key_id", "phash", "phash_mirror", "phash_trim",
                        "dhash", "exif_device", "created_at", "withdrawal_reason"],
              ((i, f"{i:064x}", "png", 1 << 20, 720, 1280, f"i{i:063x}", key, "1", i, -i, i, -i,
                "", start, "") for _, i in images))
    db.insert("video_frame", ["id", "video_id", "image_id", "t", "reason"],
              ((n + 1, v, i, float(i % frames), "second") for n, (v, i) in enumerate(images)))
    db.insert("match_run", ["image_id", "first_stage_at", "candidates", "error", "attempts",
                            "claimed_by"],
              ((i, start, 0, "", 0, "") for _, i in images))
    db.finish()


def _time(url: str) -> dict[str, float]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    out: dict[str, float] = {}
    for name, look in (
            ("claim_next", lambda s: queue.claim_next(s, utcnow(), "bench:1", on=queue.CLIPS)),
            ("backlog", lambda s: queue.backlog(s, utcnow(), on=queue.CLIPS))):
        with factory() as s:
            look(s)  # warm: statement cache, pages
            s.rollback()
        walls, cpus = [], []
        for _ in range(REPEAT):
            with factory() as s:
                wall, cpu = time.perf_counter(), time.process_time()
                found = look(s)
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                s.rollback()
        assert found is None or isinstance(found, queue.Backlog) and found.waiting == 0
        out[f"{name}_wall_ms_p50"] = round(statistics.median(walls), 2)
        out[f"{name}_cpu_ms_p50"] = round(statistics.median(cpus), 2)  # this process only
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--done", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()
    results: dict[str, object] = {"done": args.done, "open": args.open,
                                  "frames": args.frames, "repeat": REPEAT,
                                  "load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        url = support.fresh_sqlite(Path(tmp) / "clips.db")
        _load(url, args.done, args.open, args.frames)
        results["sqlite"] = _time(url)
    with support.postgres_server() as server:
        url = support.fresh_postgres(server, "bench_clips")
        _load(url, args.done, args.open, args.frames)
        results["postgres"] = _time(url)
    results["load_average_after"] = os.getloadavg()[0]
    lines = [f"# Clip-pass queue look ({args.done:,} passes done, {args.open:,} waiting for "
             f"their {args.frames} frames each; medians of {REPEAT})", "",
             "| database | claim_next (finds nothing) wall / CPU ms | backlog wall / CPU ms |",
             "|---|---|---|"]
    for name in ("sqlite", "postgres"):
        r = results[name]
        assert isinstance(r, dict)
        lines.append(f"| {name} | {r['claim_next_wall_ms_p50']} / {r['claim_next_cpu_ms_p50']} "
                     f"| {r['backlog_wall_ms_p50']} / {r['backlog_cpu_ms_p50']} |")
    lines += ["", f"Load average {results['load_average_before']:.1f} before, "
              f"{results['load_average_after']:.1f} after (machine shared). CPU is this "
              "process's only: PostgreSQL's own work is in its server."]
    support.write_results("clip_claims", results, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
