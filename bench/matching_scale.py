"""Matching at national scale: 500,000 reference photos, 2,000,000 images held (SQLite).

Measures, each in a fresh process as a server would run it:
* start-up to ready: a web worker's match index (global hashes only) and a match worker's
  (hashes + the descriptor index), built from the database, with the RSS each holds;
* first stage: an upload's near-duplicate query on the web index (p50/p95), and the real
  `service.first_stage` call (refresh + query + storing candidates, p50/p95);
* second stage: the real `service.second_stage` as a match worker runs it (shortlist +
  verification + the second look + storing), per upload, wall and CPU time, with the second
  look and without it (its limit at 0, as CELLWATCH_MATCH_SECOND_LOOK_MAX=0 sets it), how many
  uploads ran a look and whether each linked its true cell;
* recall: on a 20,000-photo library, the descriptor shortlist (top 8) with the approximate
  index vs the exact scan, for the uploads.

Library: the synthetic reference photos carry random 64-bit hashes and RANDOM ORB descriptors
(the worst case for an approximate index: no clusters) and no stored picture; 300 reference
photos with real stored pictures (bench/matching_scale_looks.py: the scenes the uploads show
and distractors that ORB nearly links) are added through the product's services. Evidence
images are rows with random hashes.

    nice -n 5 .venv/bin/python -m bench.matching_scale [--refs 500000 --images 2000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_mod
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench import matching_scale_looks as looks
from bench.matching_scale_looks import Upload
from bench.matching_scale_report import report
from bench.scale_support import RESULTS, Loader, fmt_s, fresh_sqlite, summary, utc, write_results

KEYPOINTS = 64  # descriptors stored per synthetic photo (what the prefilter reads at most)
TARGETS = {"second_stage_p95_ms": 300, "first_stage_p50_ms": 100, "web_rss_mb": 400,
           "match_rss_mb": 2560, "startup_s": 60}


def load(url: str, refs: int, images: int, real: int, log: Any = print) -> dict:
    """The synthetic part: `refs - real` reference photos and `images - real` image rows with
    random hashes and descriptors and no stored picture; the `real` ones (with pictures) are
    added afterwards through the product's own services (bench/matching_scale_looks.py)."""
    from app.evidence.hashing import pack_features

    t0 = time.perf_counter()
    rng = np.random.default_rng(42)
    db = Loader(url)
    now = utc(2026, 11, 1)
    cells = max(1, refs // 4)
    db.insert("establishment", ["id", "code", "name", "category", "region", "updated_at"],
              [(1, "BNA", "HMP Bench", "B", "Bench", now)])
    db.insert("cell", ["id", "establishment_id", "label", "wing", "landing", "capacity",
                       "updated_at"],
              [(c + 1, 1, f"A-{c // 1000 + 1}-{c % 1000:03d}", "A", str(c // 1000 + 1), 2, now)
               for c in range(cells + real)])
    n_syn, n_img = refs - real, images - real

    def image_rows():
        for lo in range(0, n_img, 100_000):
            n = min(100_000, n_img - lo)
            h = rng.integers(-(2**63), 2**63 - 1, size=(n, 4), dtype=np.int64, endpoint=True)
            for j in range(n):
                i = lo + j
                yield (i + 1, f"{i:064x}", "jpeg", 250_000, 1440, 1080, f"{i:032x}",
                       b"k" * 60, *(int(x) for x in h[j]), "", now - timedelta(seconds=i))

    db.insert("image", ["id", "sha256", "format", "byte_size", "width", "height",
                        "storage_key", "wrapped_key", "phash", "phash_mirror", "phash_trim",
                        "dhash", "exif_device", "created_at"], image_rows())
    log(f"  images: {n_img:,} rows ({fmt_s(time.perf_counter() - t0)})")

    def feature_rows():
        # the current blob format (an older version is stale: it would never vote)
        xy = rng.integers(0, 512, size=(KEYPOINTS, 2)).astype(np.float32)
        none_xy, none_desc = np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        thumb = rng.integers(0, 256, size=32 * 32, dtype=np.uint8).tobytes()
        for lo in range(0, n_syn, 50_000):
            n = min(50_000, n_syn - lo)
            desc = rng.integers(0, 256, size=(n, KEYPOINTS, 32), dtype=np.uint8)
            for j in range(n):
                yield (lo + j + 1, pack_features(xy, desc[j], none_xy, none_desc, (512, 384),
                                                 thumb))

    db.insert("image_features", ["image_id", "data"], feature_rows(), chunk=5000)
    db.insert("reference_photo", ["id", "image_id", "cell_id", "source", "added_at"],
              ((i + 1, i + 1, i % cells + 1, "staff", now) for i in range(n_syn)))
    db.finish()
    return {"seconds": round(time.perf_counter() - t0, 1), "synthetic_refs": n_syn,
            "synthetic_images": n_img, "first_real_cell": cells + 1}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _web(url: str, data_dir: str, uploads: list[bytes], out: Any) -> None:
    """A web worker: hash-only index built at start; then uploads through the first stage."""
    import app.models  # noqa: F401 - every table known, as in the app
    from app.audit.service import SYSTEM
    from app.db import make_engine, make_session_factory, unit_of_work
    from app.evidence.images import ingest_image
    from app.matching import service
    from app.matching.engine import MatchEngine
    from app.settings import Settings

    settings = Settings(data_dir=Path(data_dir), database_url=url)
    rss0 = _rss_mb()
    t = time.perf_counter()
    engine = MatchEngine(db=make_engine(url, pool_size=1, max_overflow=1), descriptors=False)
    engine.refresh(None)
    build = time.perf_counter() - t
    rss = _rss_mb()
    factory = make_session_factory(make_engine(url))
    near, first, ids = [], [], []
    for n, data in enumerate(uploads):
        with unit_of_work(factory) as s:
            image, _ = ingest_image(s, settings, SYSTEM, data=data, filename=f"u{n}.jpg")
            t = time.perf_counter()
            engine.near_duplicates(s, image, refresh=False)
            near.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            service.first_stage(s, engine, SYSTEM, [image.id or 0])
            first.append((time.perf_counter() - t) * 1000)
            ids.append(image.id)
    out.put({"build_s": round(build, 1), "rss_before_mb": round(rss0), "rss_mb": round(rss),
             "rss_index_mb": round(rss - rss0), "hashes": len(engine.hashes),
             "near_ms": summary(near), "first_stage_ms": summary(first), "ids": ids,
             "rss_after_mb": round(_rss_mb())})


def _match(url: str, keep: str, data_dir: str, ids: list[int], scene_of: dict[int, int],
           true_ref: dict[int, int], out: Any) -> None:
    """A match worker: both indexes built at start; then each upload's second stage, three
    times: with the look and without it (rolled back, in alternating order, so that neither
    has the warmer caches), then with it and committed, as the worker runs it."""
    from dataclasses import replace

    from sqlmodel import col, select

    import app.models  # noqa: F401 - every table known, as in the app
    from app.audit.service import SYSTEM
    from app.db import make_engine, make_session_factory, unit_of_work
    from app.matching import service
    from app.matching.engine import Limits, MatchEngine
    from app.matching.models import Match
    from app.settings import Settings
    from bench.matching_scale_looks import LookCounter

    settings = Settings(data_dir=Path(data_dir), database_url=url)
    rss0 = _rss_mb()
    t = time.perf_counter()
    engine = MatchEngine(Limits.of(settings), db=make_engine(url, pool_size=1, max_overflow=1),
                         keep=Path(keep))
    engine.refresh(None)
    build = time.perf_counter() - t
    blobs_read = engine.blobs_read
    kept = sorted((p.name, oct(p.stat().st_mode & 0o777), p.stat().st_size)
                  for p in Path(keep).iterdir()) if Path(keep).exists() else []
    rss = _rss_mb()
    assert engine.votes is not None
    factory = make_session_factory(make_engine(url))
    looking = engine.limits
    variants = {"with": looking, "without": replace(looking, second_look_max=0)}
    counter = LookCounter()
    counter.install()

    def run(s: Any, image_id: int, variant: str) -> dict:
        engine.limits = variants[variant]
        t, c = time.perf_counter(), time.process_time()
        service.second_stage(s, engine, SYSTEM, image_id, settings=settings)
        s.flush()
        wall, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
        linked = set(s.exec(select(Match.candidate_image_id).where(
            col(Match.query_image_id) == image_id)).all())
        looks, look_ms, look_cpu_ms, shortlisted = counter.take()
        scene = scene_of[image_id]
        return {"ms": wall, "cpu_ms": cpu, "looks": looks, "look_ms": look_ms,
                "look_cpu_ms": look_cpu_ms, "true": true_ref[image_id] in linked,
                # the true photo's ORB score and score before the scene check, if shortlisted
                "true_orb": shortlisted.get(true_ref[image_id]),
                "false": sorted(i for i in linked if i in scene_of and scene_of[i] != scene)}

    rows = []
    for n, image_id in enumerate(ids):
        row: dict[str, Any] = {"image_id": image_id}
        for variant in (("with", "without") if n % 2 else ("without", "with")):
            with factory() as s:
                row[variant] = run(s, image_id, variant)
                s.rollback()
        with unit_of_work(factory) as s:
            row["committed"] = run(s, image_id, "with")
        rows.append(row)
    engine.limits = looking
    out.put({"build_s": round(build, 1), "rss_before_mb": round(rss0), "rss_mb": round(rss),
             "rss_index_mb": round(rss - rss0), "votes": len(engine.votes),
             "approximate": engine.votes.approximate,
             "lists": engine.votes._ann.nlist if engine.votes._ann else 0,
             "uploads": rows, "feature_blobs_read": blobs_read, "kept": kept})


def _child(target: Any, *args: Any) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    while True:
        try:
            result = q.get(timeout=5)
            break
        except queue_mod.Empty:
            if not p.is_alive():
                raise RuntimeError(f"{target.__name__} failed (exit {p.exitcode})") from None
    p.join()
    return result


def recall(scene_refs: list[bytes], uploads: list[Upload], library: int = 20_000) -> dict:
    """Top-8 descriptor shortlist: approximate index vs exact scan, same library."""
    from app.evidence.hashing import PREFILTER_KEYPOINTS, analyse_image, prefilter_descriptors
    from app.matching.index import DescriptorIndex

    rng = np.random.default_rng(5)
    real = np.stack([prefilter_descriptors(analyse_image(d).features) for d in scene_refs])
    exact = DescriptorIndex(PREFILTER_KEYPOINTS, ann_from=10**9)
    approx = DescriptorIndex(PREFILTER_KEYPOINTS)
    for lo in range(0, library, 2000):
        block = rng.integers(0, 256, (2000, PREFILTER_KEYPOINTS, 32), dtype=np.uint8)
        for index in (exact, approx):
            index.add(np.arange(lo, lo + 2000) + 100, block)
    for index in (exact, approx):
        index.add(np.arange(len(scene_refs)), real)
    hits = {"exact": 0, "ann": 0, "exact_first": 0, "ann_first": 0}
    ms: dict[str, list[float]] = {"exact": [], "ann": []}
    for up in uploads:
        q = prefilter_descriptors(analyse_image(up.data).features)
        for name, index in (("exact", exact), ("ann", approx)):
            t = time.perf_counter()
            top = index.query(q, 8)
            ms[name].append((time.perf_counter() - t) * 1000)
            hits[name] += up.scene in [i for i, _ in top]
            hits[f"{name}_first"] += bool(top) and top[0][0] == up.scene
    return {"library": library + len(scene_refs), "queries": len(uploads), **hits,
            "exact_ms": summary(ms["exact"]), "ann_ms": summary(ms["ann"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refs", type=int, default=500_000)
    parser.add_argument("--images", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="database folder to reuse")
    parser.add_argument("--round", type=int, default=0, help="> 0: new uploads on a kept DB")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--name", default="matching_scale", help="results file name")
    args = parser.parse_args()
    ups = looks.uploads(args.round)
    res: dict[str, Any] = {"refs": args.refs, "images": args.images, "targets": TARGETS,
                           "round": args.round, "real": looks.REAL,
                           "descriptors": "random (synthetic photos) + real (300 pictures)"}
    recall_file = RESULTS / "matching_scale_recall.json"
    if args.skip_recall and recall_file.exists():
        res["recall"] = json.loads(recall_file.read_text())
    else:
        print("recall of the descriptor shortlist (20,000 photos)...")
        res["recall"] = recall(looks.library()[:looks.ROOMS + looks.PHOTOS], ups)
        RESULTS.mkdir(exist_ok=True)
        recall_file.write_text(json.dumps(res["recall"], indent=2) + "\n")
    print(" ", res["recall"])
    work = args.keep or Path(tempfile.mkdtemp(prefix="matching_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    db_file, real_file = work / "scale.db", work / "real.json"
    url = f"sqlite:///{db_file}"
    if not db_file.exists():
        print(f"loading {args.refs:,} reference photos, {args.images:,} images...")
        fresh_sqlite(db_file)
        (work / "synthetic.json").write_text(json.dumps(load(url, args.refs, args.images,
                                                             looks.REAL)))
    if not real_file.exists():
        print(f"adding {looks.REAL} reference photos with stored pictures...")
        first_cell = json.loads((work / "synthetic.json").read_text())["first_real_cell"]
        real_file.write_text(json.dumps(looks.add_real(url, work / "data", first_cell)))
    real = json.loads(real_file.read_text())
    res["library_load"] = {**json.loads((work / "synthetic.json").read_text()),
                           "real_seconds": real["seconds"]}
    print("web worker: start-up and first stage...")
    res["web"] = _child(_web, url, str(work / "data"), [u.data for u in ups])
    print(" ", {k: v for k, v in res["web"].items() if k != "ids"})
    keep = work / "data" / "index"
    if keep.exists() and not args.keep:
        raise SystemExit("a fresh run must not find a kept index")
    ids = res["web"].pop("ids")
    scenes = looks.ROOMS + looks.PHOTOS
    scene_of = {i: n if n < scenes else -n for n, i in enumerate(real["image_ids"])}
    scene_of.update({i: u.scene for i, u in zip(ids, ups, strict=True)})
    true_ref = {i: real["image_ids"][u.scene] for i, u in zip(ids, ups, strict=True)}
    print("match worker: start-up and second stage (with and without the look)...")
    res["match"] = _child(_match, url, str(keep), str(work / "data"), ids, scene_of, true_ref)
    for row, up in zip(res["match"]["uploads"], ups, strict=True):
        row["kind"], row["scene"] = up.kind, up.scene
    print("match worker again: start-up loading the kept index...")
    res["match_restart"] = _child(_match, url, str(keep), str(work / "data"), [], {}, {})
    res["match_restart"].pop("uploads")
    print(" ", res["match_restart"])
    res["load"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    md = report(res)
    print(md)
    write_results(args.name, res, md)


if __name__ == "__main__":
    main()
