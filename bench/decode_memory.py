"""Memory of the web process while large pictures are decoded at once.

Run: .venv/bin/python -m bench.decode_memory [--files 8] [--side 7000]
Target (issue "Nothing lost..."): 8 PNGs of 7000x7000 (49 megapixels, under the 50 MP cap)
sent at once keep the server under 1.5 GB. The real app (uvicorn, one worker, one match
worker, SQLite) in a child process; each upload from its own thread, released together,
through POST /api/v1/images with an API key. Figures: the web process's peak RSS (VmHWM)
before and after the burst, each upload's answer and time. Writes
bench/results/decode_memory.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from bench.scale_support import (
    app_server,
    create_api_key,
    create_user,
    fresh_sqlite,
    summary,
    write_results,
)


def big_png(side: int, seed: int) -> bytes:
    """A smooth picture (compresses to a few MB) with a seeded patch, so each file is new."""
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    red = np.broadcast_to(ramp[None, :], (side, side))
    green = np.broadcast_to(ramp[:, None], (side, side))
    blue = np.full((side, side), 128, np.float32)
    pixels = np.stack([red, green, blue], axis=2).astype(np.uint8)
    rng = np.random.default_rng(seed)
    pixels[:64, :64] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--side", type=int, default=7000)
    args = ap.parse_args()
    files = [big_png(args.side, n) for n in range(args.files)]
    print(f"{args.files} PNGs of {args.side}x{args.side}: "
          f"{sum(len(f) for f in files) / 1e6:.1f} MB in all")
    with tempfile.TemporaryDirectory(prefix="cellwatch-decode-") as folder:
        root = Path(folder)
        url = fresh_sqlite(root / "cellwatch.db")
        key = create_api_key(url, create_user(url, "bench-analyst"))
        with app_server(url, root / "data") as server:
            before = server.rss_mb()
            answers: list[tuple[int, float, str]] = [(0, 0.0, "")] * len(files)
            gate = threading.Barrier(len(files))

            def send(n: int) -> None:
                with httpx.Client(base_url=server.base_url, timeout=600) as client:
                    gate.wait()
                    t = time.perf_counter()
                    r = client.post("/api/v1/images",
                                    headers={"Authorization": f"Bearer {key}"},
                                    files=[("files", (f"big-{n}.png", files[n], "image/png"))])
                    answers[n] = (r.status_code, (time.perf_counter() - t) * 1000,
                                  r.text[:200] if r.status_code >= 300 else "")

            threads = [threading.Thread(target=send, args=(n,)) for n in range(len(files))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            peak, after = server.peak_rss_mb(), server.rss_mb()
    codes: dict[str, int] = {}
    for status, _, _ in answers:
        codes[str(status)] = codes.get(str(status), 0) + 1
    result: dict[str, Any] = {
        "files": args.files, "side": args.side, "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1), "rss_after_mb": round(after, 1), "answers": codes,
        "answer_ms": summary([ms for _, ms, _ in answers]),
        "refusals": sorted({text for status, _, text in answers if text}),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    ok = "ok" if peak <= 1536 else "FAIL"
    md = "\n".join([
        "# Decoding large pictures at once: memory of the web process", "",
        "`.venv/bin/python -m bench.decode_memory` — uvicorn, one worker (+ one match worker), "
        "SQLite; each upload from its own thread, released together. 2 shared cores.", "",
        "| files at once | picture | web RSS before | peak RSS | target peak <= 1.5 GB | "
        "answers | answer p50 / max | when |",
        "|---|---|---|---|---|---|---|---|",
        f"| {args.files} | {args.side}x{args.side} PNG | {before:.0f} MB | {peak:.0f} MB | "
        f"{ok} | {codes} | {result['answer_ms'].get('p50', 0):.0f} / "
        f"{result['answer_ms'].get('max', 0):.0f} ms | {result['when']} |", ""])
    if result["refusals"]:
        md += "\nRefusals: " + "; ".join(result["refusals"]) + "\n"
    print(md)
    write_results("decode_memory", result, md)


if __name__ == "__main__":
    main()
