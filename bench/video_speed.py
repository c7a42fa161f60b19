"""Speed of a video through matching: a 15 s 1080x1920 H.264 clip, from its bytes to every
sampled frame matched against a large library, one process (bench/video_matching.py part 3).

The clip is bench/video_decode.py's (a pan across the first real photograph, 30 frames a
second, 8 Mbit/s, a keyframe every 2 s). The library is the product's MatchEngine holding
that photograph's reference and `refs - 1` synthetic reference photos, made as
bench/intake_api.py makes its 100,000: random global hashes, and feature blobs of real
rendered cells (the benchmark's distractors) with 3% of the descriptor bits flipped, so that
votes and verification behave as on a library of similar cells. The vote index is the
product's DescriptorIndex, approximate (faiss) from 256 photos on, as in a match worker.
Blobs of shortlisted synthetic photos are made when verification asks for them (the
product reads them from its database; that read is not timed here).

Run alone: nice -n 15 .venv/bin/python -m bench.video_speed [--refs 100000] [--runs 5]
(writes bench/results/video_speed.{md,json}).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.video_frames import BenchEngine, analyse, display_picture, timed_clip

TARGET_S = 3.0
RESULTS = Path(__file__).resolve().parent / "results"
REAL_ID = 0


class Blobs:
    """Feature blobs by id: the real reference's, else a pool blob with flipped bits."""

    def __init__(self, real: bytes, pool: list[bytes]) -> None:
        self.real, self.pool = real, pool

    def get(self, image_id: int) -> bytes | None:
        from app.evidence.hashing import pack_features, unpack_features, unpack_thumbnail

        if image_id == REAL_ID:
            return self.real
        base = self.pool[image_id % len(self.pool)]
        xy, desc, size = unpack_features(base)
        mxy, mdesc, _ = unpack_features(base, mirrored=True)
        noisy = desc ^ _flips(np.random.default_rng(image_id), desc.shape)
        return pack_features(xy, noisy, mxy, mdesc, size, unpack_thumbnail(base).tobytes())


def _flips(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Each bit set with probability 1/32 (about 3%): five random bytes ANDed together."""
    out = rng.integers(0, 256, shape, dtype=np.uint8)
    for _ in range(4):
        out &= rng.integers(0, 256, shape, dtype=np.uint8)
    return out


def library(refs: int, real: tuple[object, bytes], pool: list[bytes]
            ) -> tuple[BenchEngine, Blobs]:
    from app.evidence.hashing import prefilter_descriptors

    rng = np.random.default_rng(42)
    engine = BenchEngine()
    image, features = real
    n = refs - 1
    ids = np.arange(1, n + 1, dtype=np.int64)
    engine.hashes.add(ids, rng.integers(-(2**63), 2**63 - 1, size=(n, 3), dtype=np.int64,
                                        endpoint=True))
    engine.hashes.add([REAL_ID], [[image.phash, image.phash_mirror, image.phash_trim]])  # type: ignore[attr-defined]
    base = np.stack([prefilter_descriptors(b) for b in pool])
    desc = base[ids % len(pool)]
    live = np.any(desc != 0, axis=2, keepdims=True)  # padding stays padding
    desc ^= _flips(rng, desc.shape) * live
    engine.votes.add(np.concatenate([[REAL_ID], ids]),
                     np.concatenate([prefilter_descriptors(features)[None], desc]))
    return engine, Blobs(features, pool)


def measure(refs: int, runs: int, pool: list[bytes]) -> dict:
    from bench.photo_sources import sources
    from bench.real_changes import jpeg
    from bench.video_decode import build_clip
    from bench.video_matching import _STATE, Item, picture

    data = build_clip()
    _STATE.setdefault("sources", sources())
    still = jpeg(picture(Item("", "", 0)), 92)
    real = analyse(still)
    shown = display_picture(Image.open(io.BytesIO(still)).convert("RGB"))
    photos = {REAL_ID: shown}.get  # the second look's picture of the one real photo
    began = time.perf_counter()
    engine, blobs = library(refs, real, pool)
    build_s = time.perf_counter() - began
    load = os.getloadavg()[0]
    timed_clip(engine, blobs, data, photos)  # warm-up: imports, first allocations
    got = [timed_clip(engine, blobs, data, photos) for _ in range(runs)]
    wall = {k: statistics.median(g["wall"][k] for g in got) for k in got[0]["wall"]}
    cpu = {k: statistics.median(g["cpu"][k] for g in got) for k in got[0]["cpu"]}
    return {"references": refs, "runs": runs, "build_s": build_s, "load_average": load,
            "clip": f"{len(data) / 2**20:.1f} MB, 30 frames a second, 8 Mbit/s",
            "library": "vote index " + ("approximate (faiss binary IVF)"
                                        if engine.votes.approximate else "exact scan"),
            "frames": got[0]["frames"], "median_s": wall, "median_cpu_s": cpu,
            "target_s": TARGET_S,
            "found_every_run": all(REAL_ID in g["linked"] for g in got),
            "runs_s": [round(g["wall"]["total"], 2) for g in got]}


def main() -> None:
    from bench.video_matching import _reference
    from bench.video_report import _speed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pool", type=int, default=30, help="rendered cells lending their blobs")
    args = ap.parse_args()
    pool = [_reference(seed)[2] for seed in range(args.pool)]
    result = measure(args.refs, args.runs, pool)
    result["load_average_end"] = os.getloadavg()[0]
    flags = "".join(f" --{k} {v}" for k, v in vars(args).items() if v != ap.get_default(k))
    result["command"] = f"nice -n 15 .venv/bin/python -m bench.video_speed{flags}"
    text = "\n".join(_speed(result))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_speed.md").write_text(
        f"Command: `{result['command']}` (load average {result['load_average']:.1f} at the "
        f"start, {result['load_average_end']:.1f} at the end)\n\n{text}\n")
    (RESULTS / "video_speed.json").write_text(json.dumps(result, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
