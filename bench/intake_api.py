"""Upload of one 1080 px JPEG to ranked candidates over the API, with 100,000 reference photos.

Run: .venv/bin/python -m bench.intake_api [--db sqlite|postgres|both] [--refs 100000]
                                          [--uploads 50] [--workdir DIR] [--results NAME]
Targets (issue): POST /api/v1/images p50 < 100 ms with 100,000 references; the second stage
(local features) done within 5 s, its results shown when ready.

What is real and what is synthetic:
* The app is the real one: `uvicorn app.main:create_app --factory` in a child process (one
  worker, as `cellwatch serve` runs it), called over HTTP with httpx and an API key
  (`Authorization: Bearer`). The server builds its match index at start (lifespan).
* Uploads are real 1080 px JPEGs of procedurally rendered cells (bench/matching_accuracy.py):
  even uploads are re-encoded/brightened copies of a cell's reference photo (near-duplicates,
  found by the first stage), odd ones a photo from a moved camera (other viewpoint, for the
  second stage). Every upload has different bytes.
* The library: 100,000 reference photos on 3,000 cells of 10 establishments. The reference
  photos of the upload scenes are real (hashes + ORB features of the rendered photo); the rest
  have random 64-bit hashes and feature blobs in the real format (500 keypoints, ~18 KB)
  whose descriptors and keypoints come from real photos of 10 other rendered cells (200 views)
  with 3% of descriptor bits flipped, so that descriptor votes and geometric verification do
  the work they do on a library of similar-looking cells. No image files are written for the
  library rows (matching reads only hashes and features).
* After each upload the client polls GET /api/v1/images/{id}/candidates every 50 ms until
  `second_stage_done`, before the next upload (so each first stage is timed alone); a second
  pass sends uploads back to back without waiting, as an analyst's batch would.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import pickle
import queue
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from PIL import Image as PILImage

from app.evidence.hashing import (
    FEATURES_VERSION,
    MAX_FEATURES,
    analyse_image,
    pack_features,
    prefilter_descriptors,
    unpack_features,
    unpack_thumbnail,
    verify_features,
)
from bench.matching_accuracy import jpeg, make_scene, moved_camera, photograph, render
from bench.scale_support import (
    Loader,
    app_server,
    create_api_key,
    create_user,
    fmt_s,
    fresh_postgres,
    fresh_sqlite,
    postgres_server,
    random_hex,
    summary,
    timed,
    utc,
    write_results,
)

UPLOAD_SCENES = 10  # scenes the uploads show (their reference photos are real)
DISTRACTOR_SCENES = 10  # other scenes whose features seed the synthetic library
DISTRACTOR_VIEWS = 20
ESTABLISHMENTS = 10
CELLS = 3000
FLIP_BITS = 0.03
TARGET_P50_MS = 100
TARGET_SECOND_S = 5.0


# --- images -------------------------------------------------------------------------------
def to_1080(data: bytes, rng: np.random.Generator, *, brighten: bool = False) -> bytes:
    img = PILImage.open(io.BytesIO(data)).convert("RGB")
    f = 1080 / max(img.size)
    img = img.resize((round(img.width * f), round(img.height * f)), PILImage.Resampling.LANCZOS)
    arr = np.asarray(img).astype(np.float32)
    if brighten:
        arr = (arr - 128) * rng.uniform(0.9, 1.1) + 128 + rng.uniform(-12, 12)
    return jpeg(np.clip(arr, 0, 255).astype(np.uint8), int(rng.integers(70, 93)))


def make_images(uploads: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(reference photos of the upload scenes, uploads, feature blobs of distractor views)."""
    refs, renders, scenes = [], [], []
    for s in range(UPLOAD_SCENES):
        scene = make_scene(5000 + s)
        rng = np.random.default_rng(5000 + s)
        clean = render(scene, scene.camera)
        refs.append(photograph(clean, rng))
        scenes.append(scene)
        renders.append(clean)
    ups = []
    for i in range(uploads):
        s = i % UPLOAD_SCENES
        rng = np.random.default_rng(70_000 + i)
        if i % 2 == 0:  # a re-post of the reference photo: re-encoded, resized, brightened
            ups.append(to_1080(refs[s], rng, brighten=True))
        else:  # the same cell from a moved camera
            cam, _, _ = moved_camera(scenes[s], rng)
            ups.append(to_1080(photograph(render(scenes[s], cam), rng), rng))
    pool = []
    for s in range(DISTRACTOR_SCENES):
        scene = make_scene(9000 + s)
        for v in range(DISTRACTOR_VIEWS):
            rng = np.random.default_rng(9000 * 100 + s * DISTRACTOR_VIEWS + v)
            cam = scene.camera if v == 0 else moved_camera(scene, rng)[0]
            pool.append(analyse_image(photograph(render(scene, cam), rng)).features)
    return refs, ups, pool


# --- the library --------------------------------------------------------------------------
def load_library(url: str, refs: int, real_refs: list[bytes], pool: list[bytes]) -> dict:
    """Establishments, cells, `refs` reference photos (images + features)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(42)
    db = Loader(url)
    now = utc(2026, 11, 1)
    db.insert("establishment", ["id", "code", "name", "category", "region", "updated_at"],
              [(e + 1, f"B{chr(65 + e // 26)}{chr(65 + e % 26)}", f"HMP Bench {e + 1}", "B",
                "Bench", now) for e in range(ESTABLISHMENTS)])
    per = CELLS // ESTABLISHMENTS
    db.insert("cell", ["id", "establishment_id", "label", "wing", "landing", "capacity",
                       "updated_at"],
              [(c + 1, c // per + 1, f"{'ABCDEF'[c % per // 50]}-{c % 50 // 25 + 1}-"
                f"{c % 25 + 1:03d}", "ABCDEF"[c % per // 50], str(c % 50 // 25 + 1), 2, now)
               for c in range(CELLS)])
    real = [analyse_image(data) for data in real_refs]
    n_syn = refs - len(real)
    pool_parsed = [unpack_features(b) for b in pool]
    pool_mirrored = [unpack_features(b, mirrored=True) for b in pool]

    def images():
        hashes = rng.integers(-(2**63), 2**63 - 1, size=(n_syn, 4), dtype=np.int64,
                              endpoint=True)
        for i in range(refs):
            if i < n_syn:
                h = [int(x) for x in hashes[i]]
                w, ht = 1440, 1080
            else:
                a = real[i - n_syn].hashes
                h, w, ht = [a.phash, a.phash_mirror, a.phash_trim, a.dhash], a.width, a.height
            yield (i + 1, random_hex(32), "jpeg", 250_000 + i % 1000, w, ht, random_hex(16),
                   rng.bytes(60), *h, "", now - timedelta(minutes=i))

    db.insert("image", ["id", "sha256", "format", "byte_size", "width", "height",
                        "storage_key", "wrapped_key", "phash", "phash_mirror", "phash_trim",
                        "dhash", "exif_device", "created_at"], images())

    def features():
        # in the current blob format (a blob of an older version is stale: it never votes,
        # so the library would hold only the real photos' descriptors)
        for i in range(refs):
            if i >= n_syn:
                yield (i + 1, real[i - n_syn].features)
                continue
            xy, desc, (w, h) = pool_parsed[i % len(pool_parsed)]
            flips = (rng.random((desc.shape[0], 256)) < FLIP_BITS)
            noisy = desc ^ np.packbits(flips, axis=1)
            mxy, mdesc, _ = pool_mirrored[i % len(pool_parsed)]
            yield (i + 1, pack_features(xy, noisy, mxy, mdesc, (w, h),
                                        unpack_thumbnail(pool[i % len(pool)]).tobytes()))

    db.insert("image_features", ["image_id", "data"], features(), chunk=5000)
    db.insert("reference_photo", ["id", "image_id", "cell_id", "source", "added_at"],
              # the upload scenes' real references each get their own cell (the first ten)
              [(i + 1, i + 1, (i - n_syn + 1) if i >= n_syn else (i % CELLS) + 1, "staff", now)
               for i in range(refs)])
    counts = dict(db.counts)
    db.finish()
    return {"seconds": round(time.perf_counter() - t0, 1), "rows": counts,
            "feature_bytes_each": len(pool[0]), "real_reference_image_ids":
            list(range(n_syn + 1, refs + 1))}


# --- the index build, measured in a clean process -----------------------------------------
def _index_build(url: str, out: Any) -> None:
    from sqlmodel import Session

    from app.db import make_engine
    from app.matching.engine import MatchEngine

    def rss() -> tuple[float, float]:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    engine = make_engine(url)
    with Session(engine) as session:  # connect and warm the imports outside the timing
        session.exec(__import__("sqlmodel").select(1)).all()
    rss0, _ = rss()
    t = time.perf_counter()
    with Session(engine) as session:
        me = MatchEngine()
        me.sync(session)
    build_s = time.perf_counter() - t
    rss1, hwm = rss()
    arrays = (me.hashes._hashes.nbytes + me.hashes._ids.nbytes + me.hashes._xor.nbytes
              + me.hashes._dist.nbytes + me.hashes._tmp.nbytes + me.votes._desc.nbytes
              + me.votes._ids.nbytes)
    # the same build again under tracemalloc (slower), for the Python-side peak
    tracemalloc.start()
    with Session(engine) as session:
        MatchEngine().sync(session)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.put({"build_s": round(build_s, 2), "hashes": len(me.hashes), "votes": len(me.votes),
             "index_arrays_mb": round(arrays / 2**20, 1),
             "rss_before_mb": round(rss0, 1), "rss_after_mb": round(rss1, 1),
             "rss_peak_mb": round(hwm, 1), "tracemalloc_peak_mb": round(peak / 2**20, 1)})
    engine.dispose()


def index_build(url: str) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_index_build, args=(url, q))
    p.start()
    while True:
        try:
            result = q.get(timeout=5)
            break
        except queue.Empty:
            if not p.is_alive():
                raise RuntimeError(f"index build failed (exit code {p.exitcode})") from None
    p.join()
    return result


# --- the second stage, in-process, by component ----------------------------------------------
def second_stage_parts(url: str, image_ids: list[int]) -> dict:
    """What the second stage spends its time on (the same steps as service.second_stage,
    timed one by one, nothing stored)."""
    from sqlmodel import Session, col, select

    from app.db import make_engine
    from app.evidence.models import Image, ImageFeatures
    from app.matching import thresholds
    from app.matching.engine import MatchEngine

    engine = make_engine(url)
    me = MatchEngine()
    parts: dict[str, list[float]] = {k: [] for k in
                                     ("hash_top8", "votes", "load_blobs", "verify", "total")}
    with Session(engine) as session:
        me.sync(session)
        for image_id in image_ids:
            t0 = time.perf_counter()
            image = session.get(Image, image_id)
            feats = session.get(ImageFeatures, image_id)
            assert image is not None and feats is not None
            t = time.perf_counter()
            nearest = me.hashes.query(me._query_values(image), 64,
                                      limit=thresholds.SHORTLIST_GLOBAL + 1)
            parts["hash_top8"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            voted = me.votes.query(prefilter_descriptors(feats.data),
                                   limit=thresholds.SHORTLIST_VOTES + 1)
            parts["votes"].append((time.perf_counter() - t) * 1000)
            ids = {i for i, _ in nearest} | {i for i, _ in voted}
            ids.discard(image_id)
            t = time.perf_counter()
            blobs = dict(session.exec(select(ImageFeatures.image_id, ImageFeatures.data)
                                      .where(col(ImageFeatures.image_id).in_(ids))).all())
            parts["load_blobs"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            for blob in blobs.values():
                verify_features(feats.data, blob)
            parts["verify"].append((time.perf_counter() - t) * 1000)
            parts["total"].append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return {k: summary(v) for k, v in parts.items()}


# --- the API run --------------------------------------------------------------------------
def upload(client: httpx.Client, data: bytes, i: int) -> tuple[float, dict]:
    ms, response = timed(lambda: client.post(
        "/api/v1/images", files={"files": (f"upload-{i}.jpg", data, "image/jpeg")},
        data={"post_url": f"https://www.instagram.com/p/bench{i}/"}), expect=(200, 201))
    return ms, response.json()["images"][0]


def wait_second_stage(client: httpx.Client, image_id: int, timeout_s: float = 60
                      ) -> tuple[float, dict]:
    t = time.perf_counter()
    while True:
        body = client.get(f"/api/v1/images/{image_id}/candidates").json()
        if body["second_stage_done"]:
            return time.perf_counter() - t, body
        if time.perf_counter() - t > timeout_s:
            raise RuntimeError(f"second stage of image {image_id} not done in {timeout_s} s")
        time.sleep(0.05)


def stage_times(url: str, image_ids: list[int]) -> list[float]:
    """second_stage_at - first_stage_at per image, from the server's own timestamps."""
    from sqlmodel import Session, col, select

    from app.db import make_engine
    from app.matching.models import MatchRun

    engine = make_engine(url)
    with Session(engine) as session:
        runs = session.exec(select(MatchRun).where(col(MatchRun.image_id).in_(image_ids))).all()
        out = [(r.second_stage_at - r.first_stage_at).total_seconds() for r in runs
               if r.second_stage_at is not None]
    engine.dispose()
    return out


def run_api(url: str, data_dir: Path, uploads: list[bytes], back_to_back: list[bytes]) -> dict:
    user_id = create_user(url, "bench-analyst")
    key = create_api_key(url, user_id)
    # uvicorn alone starts no match worker (`cellwatch serve` does): the server runs each
    # second stage itself once it has answered, as this benchmark was written to measure
    os.environ.setdefault("CELLWATCH_MATCH_WORKERS", "0")
    with app_server(url, data_dir) as server:
        rss_ready = server.rss_mb()
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            _, warm = upload(client, uploads[0], 0)  # warm-up: lazy imports, first queries
            wait_second_stage(client, warm["image_id"])
            first, observed, found_first, found_second, ids = [], [], [], [], []
            for i, data in enumerate(uploads[1:], start=1):
                ms, img = upload(client, data, i)
                first.append(ms)
                ids.append(img["image_id"])
                found_first.append(len(img["candidates"]))
                waited, body = wait_second_stage(client, ids[-1])
                observed.append(waited)
                found_second.append(len(body["candidates"]) - found_first[-1])
            server_stage = stage_times(url, ids)
            # back to back: the next upload goes while earlier second stages still run
            b2b, b2b_ids, statuses = [], [], []
            for i, data in enumerate(back_to_back, start=len(uploads)):
                t = time.perf_counter()
                response = client.post(
                    "/api/v1/images", files={"files": (f"upload-{i}.jpg", data, "image/jpeg")})
                b2b.append((time.perf_counter() - t) * 1000)
                statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    b2b_ids.append(response.json()["images"][0]["image_id"])
            t = time.perf_counter()
            for image_id in b2b_ids:
                wait_second_stage(client, image_id, timeout_s=600)
            drain = time.perf_counter() - t
            b2b_stage = stage_times(url, b2b_ids)
        rss_end, rss_peak = server.rss_mb(), server.peak_rss_mb()
    return {
        "server_ready_s": round(server.ready_s, 2),
        "server_rss_ready_mb": round(rss_ready, 1), "server_rss_end_mb": round(rss_end, 1),
        "server_rss_peak_mb": round(rss_peak, 1),
        "upload_ms": summary(first),
        "second_stage_server_s": summary(server_stage),
        "second_stage_client_s": summary(observed),
        "candidates_first_stage_mean": round(float(np.mean(found_first)), 2),
        "candidates_second_stage_mean": round(float(np.mean(found_second)), 2),
        "uploads_with_feature_match": int(sum(1 for n in found_second if n > 0)),
        "measured_uploads": len(first),
        "back_to_back": {"n": len(b2b), "upload_ms": summary(b2b),
                         "upload_ms_each": [round(x) for x in b2b], "statuses": statuses,
                         "failed": sum(1 for x in statuses if x not in (200, 201)),
                         "second_stage_server_s": summary(b2b_stage),
                         "drain_after_last_upload_s": round(drain, 2)},
        "uploaded_image_ids": ids,
    }


# --- report -------------------------------------------------------------------------------
def report(res: dict, args: argparse.Namespace) -> str:
    lines = [f"# Intake over the API with {args.refs:,} reference photos", "",
             "`.venv/bin/python -m bench.intake_api` — uvicorn (one worker) + httpx, API key; "
             "2-core machine shared with other work, so read medians and p95, not single "
             "figures.", ""]
    lines += ["| database | upload p50 | upload p95 | target p50 < 100 ms | second stage p50 "
              "(server) | p95 | max | target <= 5 s | client saw done, p50 / p95 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["databases"].items():
        a = r["api"]
        u, s, c = a["upload_ms"], a["second_stage_server_s"], a["second_stage_client_s"]
        lines.append(
            f"| {name} | {u['p50']:.0f} ms | {u['p95']:.0f} ms | "
            f"{'ok' if u['p50'] < TARGET_P50_MS else 'FAIL'} | {s['p50']:.2f} s | "
            f"{s['p95']:.2f} s | {s['max']:.2f} s | "
            f"{'ok' if s['p95'] <= TARGET_SECOND_S else 'FAIL'} | "
            f"{c['p50']:.2f} / {c['p95']:.2f} s |")
    lines += ["", "Back to back (next upload sent as soon as the previous answered; second "
              "stages queue behind):", "",
              "| database | n | failed | upload p50 | p95 | max | second stage p50 | p95 | max | "
              "all done after last upload |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["databases"].items():
        b = r["api"]["back_to_back"]
        lines.append(f"| {name} | {b['n']} | {b['failed']} (statuses "
                     f"{sorted(set(b['statuses']))}) | {b['upload_ms']['p50']:.0f} ms | "
                     f"{b['upload_ms']['p95']:.0f} ms | {b['upload_ms']['max']:.0f} ms | "
                     f"{b['second_stage_server_s']['p50']:.2f} s"
                     f" | {b['second_stage_server_s']['p95']:.2f} s | "
                     f"{b['second_stage_server_s']['max']:.2f} s | "
                     f"{b['drain_after_last_upload_s']:.1f} s |")
    lines += ["", "Index build and memory (MatchEngine.sync from empty, own process):", "",
              "| database | build | hashes / votes rows | index arrays | process RSS before -> "
              "after (peak) | tracemalloc peak | server start to ready | server RSS ready / "
              "peak |", "|---|---|---|---|---|---|---|---|"]
    for name, r in res["databases"].items():
        b, a = r["index_build"], r["api"]
        lines.append(
            f"| {name} | {b['build_s']:.1f} s | {b['hashes']:,} / {b['votes']:,} | "
            f"{b['index_arrays_mb']:.0f} MB | {b['rss_before_mb']:.0f} -> {b['rss_after_mb']:.0f}"
            f" MB ({b['rss_peak_mb']:.0f} MB) | {b['tracemalloc_peak_mb']:.0f} MB | "
            f"{a['server_ready_s']:.1f} s | {a['server_rss_ready_mb']:.0f} / "
            f"{a['server_rss_peak_mb']:.0f} MB |")
    lines += ["", "Second stage by component (in-process, same steps as "
              "`service.second_stage`, ms):", "",
              "| database | hash top-8 | descriptor votes | load blobs | verify (up to 16) | "
              "total |", "|---|---|---|---|---|---|"]
    for name, r in res["databases"].items():
        p = r["second_stage_parts"]
        lines.append(f"| {name} | " + " | ".join(
            f"{p[k]['p50']:.1f} (p95 {p[k]['p95']:.1f})"
            for k in ("hash_top8", "votes", "load_blobs", "verify", "total")) + " |")
    for name, r in res["databases"].items():
        a = r["api"]
        lines += ["", f"{name}: library loaded in {r['load']['seconds']:.0f} s; candidates per "
                  f"upload: first stage {a['candidates_first_stage_mean']}, second stage "
                  f"{a['candidates_second_stage_mean']} "
                  f"({a['uploads_with_feature_match']}/{a['measured_uploads']} uploads gained a "
                  "feature match)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--refs", type=int, default=100_000)
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--back-to-back", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cellwatch-bench-intake"))
    ap.add_argument("--results", default="intake_api",
                    help="name of the files written to bench/results/ (a smoke run keeps the "
                         "full run's figures)")
    args = ap.parse_args()
    t = time.perf_counter()
    # keyed by the features version: a cache of older blobs would not unpack
    count = args.uploads + 1 + args.back_to_back
    cache = args.workdir / f"images-v{FEATURES_VERSION}-{count}.pickle"
    if cache.exists():  # rendering takes ~40 s; the images are a pure function of the seeds
        refs, ups, pool = pickle.loads(cache.read_bytes())
    else:
        refs, ups, pool = make_images(args.uploads + 1 + args.back_to_back)
        args.workdir.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps((refs, ups, pool)))
    print(f"images generated in {fmt_s(time.perf_counter() - t)}; upload sizes "
          f"{min(map(len, ups)) // 1024}-{max(map(len, ups)) // 1024} KB, "
          f"{PILImage.open(io.BytesIO(ups[0])).size}")
    measured, b2b = ups[: args.uploads + 1], ups[args.uploads + 1:]
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    res: dict[str, Any] = {"refs": args.refs, "uploads": args.uploads, "databases": {},
                           "cpu_count": mp.cpu_count(), "opencv_threads": cv2.getNumThreads(),
                           "max_features": MAX_FEATURES}
    for kind in kinds:
        data_dir = args.workdir / kind
        load_before = os.getloadavg()
        if kind == "sqlite":
            url = fresh_sqlite(args.workdir / "intake.db")
            res["databases"][kind] = run_one(url, data_dir, args.refs, refs, pool, measured,
                                             b2b)
        else:
            with postgres_server() as server:
                url = fresh_postgres(server, "cellwatch_bench_intake")
                res["databases"][kind] = run_one(url, data_dir, args.refs, refs, pool,
                                                 measured, b2b)
        res["databases"][kind]["loadavg_before_after"] = [
            [round(x, 2) for x in load_before], [round(x, 2) for x in os.getloadavg()]]
        write_results(args.results, res, report(res, args))  # what is done so far
    md = report(res, args)
    print(md)
    write_results(args.results, res, md)


def run_one(url: str, data_dir: Path, n_refs: int, refs: list[bytes], pool: list[bytes],
            measured: list[bytes], b2b: list[bytes]) -> dict:
    print(f"{url.split('://')[0]}:")
    out: dict[str, Any] = {}
    out["load"] = load_library(url, n_refs, refs, pool)
    print(f"  loaded {out['load']['rows']} in {out['load']['seconds']} s")
    out["index_build"] = index_build(url)
    print(f"  index build {out['index_build']}")
    out["api"] = run_api(url, data_dir, measured, b2b)
    print(f"  upload {out['api']['upload_ms']}; second stage "
          f"{out['api']['second_stage_server_s']}")
    out["second_stage_parts"] = second_stage_parts(url, out["api"]["uploaded_image_ids"])
    return out


if __name__ == "__main__":
    main()
