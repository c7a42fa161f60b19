"""Where one second look's time goes: each step of app/matching/second_look.py's look at one
pair, on a library kept by bench/matching_scale.py (its stored pictures), CPU and wall.

Takes the first second photograph of the results that ran a look and its scene's reference
photo, and times, `--repeat` times: reading each picture as the worker does (the row, the display
copy's key unwrapped, the file read and unsealed, decoded at a reduced scale and trimmed),
SIFT of each (the upload both ways round, as for a hit
found mirrored), and the verifications; then a cProfile of the whole look.

    nice -n 15 .venv/bin/python -m bench.second_look_profile --keep DIR [--results matching_scale]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

from bench.scale_support import RESULTS

Steps = dict[str, list[tuple[float, float]]]


def _timed(steps: Steps, name: str, fn: Any, *args: Any) -> Any:
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    steps.setdefault(name, []).append(((time.perf_counter() - t) * 1000,
                                       (time.process_time() - c) * 1000))
    return out


def _one_look(steps: Steps, picture: Any, upload_id: int, ref: int) -> None:
    from app.evidence import sift

    query = _timed(steps, "read the upload's picture", picture, upload_id)
    other = _timed(steps, "read the reference photo's picture", picture, ref)
    theirs = _timed(steps, "SIFT of the reference photo", sift.keypoints, other)
    mine = _timed(steps, "SIFT of the upload", sift.keypoints, query)
    mirror = _timed(steps, "SIFT of the upload's mirror image", sift.keypoints, query, True)
    _timed(steps, "verification (ratio test, homography, scene check)", sift.verify, mine,
           theirs)
    _timed(steps, "verification of the mirror image", sift.verify, mirror, theirs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--results", default="matching_scale")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import app.models  # noqa: F401 - every table known, as in the app
    from app.db import make_engine, make_session_factory
    from app.evidence import sift
    from app.matching.second_look import stored_pictures
    from app.settings import Settings

    res = json.loads((RESULTS / f"{args.results}.json").read_text())
    real = json.loads((args.keep / "real.json").read_text())["image_ids"]
    row = next(r for r in res["match"]["uploads"] if r["with"]["looks"]
               and r["kind"] == "second_photograph")
    ref = real[row["scene"] if "scene" in row else res_scene(res, row)]
    url = f"sqlite:///{args.keep / 'scale.db'}"
    settings = Settings(data_dir=args.keep / "data", database_url=url)
    factory = make_session_factory(make_engine(url))
    steps: Steps = {}
    with factory() as s:
        for _ in range(args.repeat):
            s.expire_all()
            _one_look(steps, stored_pictures(s, settings), row["image_id"], ref)
        profile = cProfile.Profile()
        profile.enable()
        picture = stored_pictures(s, settings)
        q, o = picture(row["image_id"]), picture(ref)
        theirs = sift.keypoints(o)
        for m in (False, True):
            sift.verify(sift.keypoints(q, m), theirs)
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats("tottime").print_stats(12)
    lines = ["# One second look, step by step", "",
             f"Upload {row['image_id']} ({row['kind']}) against reference photo image {ref}, "
             f"kept library of `bench/matching_scale.py` ({res['refs']:,} reference photos); "
             f"median of {args.repeat}, niced. Load average "
             + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + ".", "",
             "| step | wall median | CPU median |", "|---|---|---|"]
    total = [0.0, 0.0]
    for name, samples in steps.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        total[0] += wall
        total[1] += cpu
        lines.append(f"| {name} | {wall:.1f} ms | {cpu:.1f} ms |")
    lines += [f"| all (one look, both orientations) | {total[0]:.1f} ms | {total[1]:.1f} ms |",
              "", "cProfile of one look (wall seconds; functions by own time):", "", "```",
              *[ln.rstrip() for ln in out.getvalue().splitlines()
                if ln.strip() and "Ordered by" not in ln][:20], "```", ""]
    md = "\n".join(lines)
    print(md)
    (RESULTS / "second_look_profile.md").write_text(md)


def res_scene(res: dict, row: dict) -> int:
    """The scene of an upload (results written before rows named it): made again."""
    from bench.matching_scale_looks import uploads

    rows = res["match"]["uploads"]
    return uploads(res.get("round", 0))[rows.index(row)].scene


if __name__ == "__main__":
    main()
