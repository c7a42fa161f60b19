"""HammingIndex speed and memory at 1,000,000 hashes vs a bare numpy XOR-and-popcount scan.

Run: .venv/bin/python -m bench.index_speed [--n 1000000]
Targets: one query within 1.5x the bare scan; 1,000,000 hashes of one kind in < 100 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

from app.evidence.hashing import PREFILTER_KEYPOINTS
from app.matching.index import DescriptorIndex, HammingIndex

RESULTS = Path(__file__).resolve().parent / "results"


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=args.n, dtype=np.int64, endpoint=True)
    ids = np.arange(args.n, dtype=np.int64)

    tracemalloc.start()
    index = HammingIndex(1)
    index.add(ids, hashes)
    q = int(hashes[12345])
    index.query(q, 10)  # buffers are allocated by add(); a query allocates only its answer
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    raw = hashes.view(np.uint64)
    qu = np.uint64(q & (2**64 - 1))
    bare = median_ms(lambda: np.bitwise_count(raw ^ qu), args.repeat)
    bare_thresh = median_ms(lambda: np.flatnonzero(np.bitwise_count(raw ^ qu) <= 10), args.repeat)
    ours = median_ms(lambda: index.query(q, 10), args.repeat)
    ours_topk = median_ms(lambda: index.query(q, 64, 16), args.repeat)
    three = HammingIndex(3)
    three.add(ids, np.stack([hashes, hashes[::-1], np.roll(hashes, 1)], axis=1))
    ours3 = median_ms(lambda: three.query([q, q, q], 10), args.repeat // 4)

    # removal and re-adding are cheap (tombstones, amortised appends)
    t = time.perf_counter()
    index.remove(ids[:1000])
    index.add(ids[:1000], hashes[:1000])
    churn = (time.perf_counter() - t) * 1000
    one = median_ms(lambda: index.add([args.n + 1], [q]), 20)

    dindex = DescriptorIndex(PREFILTER_KEYPOINTS)
    desc = rng.integers(0, 256, size=(1000, PREFILTER_KEYPOINTS, 32), dtype=np.uint8)
    dindex.add(np.arange(1000), desc)
    votes = median_ms(lambda: dindex.query(desc[5], 8), 10)

    res = {
        "n": args.n,
        "bare_scan_ms": round(bare, 3),
        "bare_scan_with_threshold_ms": round(bare_thresh, 3),
        "query_threshold10_ms": round(ours, 3),
        "ratio_vs_bare_scan": round(ours / bare, 2),
        "ratio_vs_bare_scan_with_threshold": round(ours / bare_thresh, 2),
        "query_top16_ms": round(ours_topk, 3),
        "query_3_columns_ms": round(ours3, 3),
        "memory_mb_traced_peak": round(peak / 1e6, 1),
        "memory_mb_traced_after_query": round(current / 1e6, 1),
        "remove_then_readd_1000_ms": round(churn, 2),
        "add_one_ms": round(one, 3),
        "descriptor_votes_1000_images_ms": round(votes, 1),
    }
    lines = [f"HammingIndex at {args.n:,} hashes (median of {args.repeat} queries, 1 CPU):",
             f"  bare numpy XOR+popcount scan      {bare:7.3f} ms",
             f"  bare scan + threshold + nonzero   {bare_thresh:7.3f} ms",
             f"  index.query(max_distance=10)      {ours:7.3f} ms  = {ours / bare:.2f}x bare scan"
             f"  (target <= 1.5x) {'ok' if ours <= 1.5 * bare else 'FAIL'}",
             f"  index.query(top 16)               {ours_topk:7.3f} ms",
             f"  3-column index.query              {ours3:7.3f} ms",
             f"  memory (tracemalloc peak)         {peak / 1e6:7.1f} MB  (target < 100 MB) "
             f"{'ok' if peak < 100e6 else 'FAIL'}",
             f"  remove + re-add 1,000 ids         {churn:7.2f} ms;  add one id {one:.3f} ms",
             f"DescriptorIndex votes over 1,000 images: {votes:.1f} ms"]
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "index_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "index_speed.md").write_text("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
