"""Video core timings on a 15 s 1080x1920 H.264 clip (issue 12).

Run: nice -n 15 .venv/bin/python -m bench.video_decode [--runs 5]
The clip pans across a real photograph (bench/photo_sources.py; scaled to 1920 px high),
30 frames a second, libx264 at 8 Mbit/s like a phone (preset fast, a keyframe every 2 s,
B-frames as x264 makes them),
built once into the bench cache. Medians of `--runs` runs of:
- probe: `inspect` (sniff + header probe in the sandboxed child, start-up included), and the
  header probe alone in this process;
- sampled path: `sample` end to end, and the child's own decode-and-select time;
- decode of only the sampled frames: for each GOP holding a sampled frame, seek to its
  keyframe and decode (non-reference frames skipped, as they are needed by none) up to the
  last sampled frame in it, converting only the sampled frames: the least decoding that
  yields those frames from this file;
- full decode: every frame decoded and converted to RGB (what a naive loop does);
- derivatives: poster (in process) and preview (sandboxed, as the match workers make it);
- transport of the sampled frames from child to caller: raw RGB file vs PNG files.
And the cut detector's calibration on the real photographs (pans vs different photos).
Writes bench/results/video_decode.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from app.video import inspect, poster, preview, sample
from app.video.caps import Caps
from app.video.probe import probe
from app.video.selection import CUT_AT, difference, thumbnail
from app.video.sniff import sniff
from bench.photo_sources import cache_dir, sources

RESULTS = Path(__file__).parent / "results"
W, H, FPS, SECONDS = 1080, 1920, 30, 15
BITRATE = 8 * 10**6  # what a phone records 1080p at, about


def build_clip(start: int = 0) -> bytes:
    """`start`: the pan begins that many pixels further right (another clip of the same
    kind, video_end_to_end.py's copies)."""
    suffix = f"_from{start}" if start else ""
    path = cache_dir() / "video" / f"pan_1080x1920_15s_{BITRATE // 10**6}M{suffix}.mp4"
    if path.exists():
        return path.read_bytes()
    photo = sources()[0]
    img = Image.open(photo.path).convert("RGB")
    img = img.resize((max(W + 200, round(img.width * H / img.height)), H))
    picture = np.asarray(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = 2 * FPS
        stream.codec_context.bit_rate = BITRATE
        stream.codec_context.options = {"preset": "fast"}
        xs = np.linspace(start, picture.shape[1] - W, SECONDS * FPS).astype(int)
        for x in xs:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture[:, x:x + W]),
                                               format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


def full_decode(path: str) -> tuple[float, int]:
    began = time.perf_counter()
    n = 0
    with av.open(path) as c:
        stream = c.streams.video[0]
        stream.codec_context.thread_count, stream.codec_context.thread_type = 2, "AUTO"
        for frame in c.decode(stream):
            frame.to_ndarray(format="rgb24")
            n += 1
    return time.perf_counter() - began, n


def only_sampled(path: str, times: list[float]) -> float:
    """Seek to the keyframe of each GOP holding a sampled frame; decode up to its last one."""
    began = time.perf_counter()
    wanted = sorted(times)
    with av.open(path) as c:
        stream = c.streams.video[0]
        ctx = stream.codec_context
        ctx.thread_count, ctx.thread_type, ctx.skip_frame = 2, "AUTO", "NONREF"
        i = 0
        while i < len(wanted):
            c.seek(int(wanted[i] / stream.time_base), stream=stream, backward=True)
            for frame in c.decode(stream):
                t = float(frame.time)
                while i < len(wanted) and t >= wanted[i] - 1e-3:
                    frame.to_ndarray(format="rgb24", width=720, height=1280)
                    i += 1
                if i == len(wanted):
                    break
                if frame.key_frame and t > wanted[i]:
                    break  # next GOP: seek rather than decode through
    return time.perf_counter() - began


def transport(frames: list[Image.Image]) -> dict[str, float]:
    arrays = [np.asarray(f) for f in frames]
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        raw = Path(tmp) / "frames.raw"
        with raw.open("wb") as out:
            for a in arrays:
                out.write(a.tobytes())
        data = np.memmap(raw, np.uint8, "r")
        at = 0
        for a in arrays:
            Image.fromarray(np.asarray(data[at:at + a.size]).reshape(a.shape).copy())
            at += a.size
        raw_s = time.perf_counter() - began
        raw_mb = raw.stat().st_size / 2**20
        began = time.perf_counter()
        total = 0
        for k, a in enumerate(arrays):
            p = Path(tmp) / f"{k}.png"
            Image.fromarray(a).save(p, compress_level=1)
            total += p.stat().st_size
            Image.open(p).load()
        png_s = time.perf_counter() - began
    return {"raw_ms": raw_s * 1000, "raw_mb": raw_mb, "png_ms": png_s * 1000,
            "png_mb": total / 2**20}


def calibrate() -> dict[str, float]:
    pans, cuts, firsts = [], [], []
    for s in sources():
        img = Image.open(s.path).convert("L")
        img = img.resize((max(1200, round(img.width * 960 / img.height)), 960))
        g = np.asarray(img)
        w = 540
        for count in (450, 60):  # the width in 15 s, and in 2 s
            xs = np.linspace(0, g.shape[1] - w, count).astype(int)[:80]
            thumbs = [thumbnail(np.ascontiguousarray(g[:, x:x + w])) for x in xs]
            pans += [difference(a, b) for a, b in zip(thumbs, thumbs[1:], strict=False)]
        firsts.append(thumbnail(np.ascontiguousarray(g[:, :w])))
    for i, a in enumerate(firsts):
        cuts += [difference(a, b) for b in firsts[i + 1:]]
    p, c = np.array(pans), np.array(cuts)
    return {"photos": len(firsts), "pan_p50": float(np.median(p)),
            "pan_p99": float(np.percentile(p, 99)), "pan_max": float(p.max()),
            "cut_min": float(c.min()), "cut_p1": float(np.percentile(c, 1)),
            "cut_p50": float(np.median(c)), "false_cuts": float((p > CUT_AT).mean()),
            "missed_cuts": float((c <= CUT_AT).mean())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = build_clip()
    load = os.getloadavg()[0]
    runs: dict[str, list[float]] = {k: [] for k in (
        "inspect", "probe", "sample", "child_decode", "only_sampled", "full", "poster",
        "preview")}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        found = sniff(data)
        for _ in range(args.runs):
            began = time.perf_counter()
            inspect(data, "clip.mp4")
            runs["inspect"].append(time.perf_counter() - began)
            began = time.perf_counter()
            probe(path, found, Caps())  # type: ignore[arg-type]
            runs["probe"].append(time.perf_counter() - began)
            began = time.perf_counter()
            got = sample(data, "clip.mp4")
            runs["sample"].append(time.perf_counter() - began)
            runs["child_decode"].append(got.decode_seconds)
            runs["only_sampled"].append(only_sampled(str(path), [f.t for f in got.frames]))
            full_s, frames_total = full_decode(str(path))
            runs["full"].append(full_s)
            began = time.perf_counter()
            poster(got.frames)
            runs["poster"].append(time.perf_counter() - began)
            began = time.perf_counter()
            preview(data, "clip.mp4")
            runs["preview"].append(time.perf_counter() - began)
        moved = transport([f.image for f in got.frames])
    med = {k: statistics.median(v) * 1000 for k, v in runs.items()}
    cal = calibrate()
    ratio = med["child_decode"] / med["only_sampled"]
    result = {"load_average": load,
              "clip": {"bytes": len(data), "frames": frames_total, "size": f"{W}x{H}",
                       "fps": FPS, "seconds": SECONDS, "bit_rate": BITRATE},
              "runs": args.runs, "median_ms": med, "sampled_frames": len(got.frames),
              "decoded_frames": got.decoded, "ratio_sampled_vs_only_sampled": ratio,
              "transport": moved, "cuts": cal, "cut_at": CUT_AT,
              "reasons": [f.reason for f in got.frames]}
    lines = [
        f"15 s {W}x{H} H.264 clip ({len(data) / 2**20:.1f} MB, {frames_total} frames, "
        f"keyframe every 2 s), medians of {args.runs} runs; a shared 2-core machine, niced "
        f"(load average {load:.1f} at the start).",
        "",
        "| step | median |", "|---|---|",
        f"| inspect (sniff + probe in the sandboxed child) | {med['inspect']:.0f} ms |",
        f"| header probe alone, in process | {med['probe']:.1f} ms |",
        f"| sample end to end (child start, decode, select, frames back) | "
        f"{med['sample']:.0f} ms |",
        f"| sampled path's decode and selection, in the child | {med['child_decode']:.0f} ms |",
        f"| decode of only the sampled frames (seek per GOP) | {med['only_sampled']:.0f} ms |",
        f"| full decode, every frame to RGB | {med['full']:.0f} ms |",
        f"| poster | {med['poster']:.0f} ms |",
        f"| preview (10 s, 480 px, sandboxed, as the match workers make it after the "
        f"matching) | {med['preview']:.0f} ms |",
        "",
        f"Sampled {len(got.frames)} frames ({got.decoded} decoded of {frames_total}: "
        "non-reference frames skipped).",
        f"Ratio sampled path / decode of only the sampled frames: {ratio:.2f}x "
        "(target <= 2x); sampled path / full decode: "
        f"{med['child_decode'] / med['full']:.2f}x.",
        f"Frames back to the caller: raw RGB file {moved['raw_ms']:.0f} ms "
        f"({moved['raw_mb']:.0f} MB) vs PNG files {moved['png_ms']:.0f} ms "
        f"({moved['png_mb']:.0f} MB).",
        "",
        f"Cut detector (threshold {CUT_AT}) on {cal['photos']} real photographs: consecutive "
        f"frames of pans p50 {cal['pan_p50']:.3f}, p99 {cal['pan_p99']:.3f}, max "
        f"{cal['pan_max']:.3f} ({cal['false_cuts']:.2%} over the threshold); different "
        f"photographs min {cal['cut_min']:.3f}, p1 {cal['cut_p1']:.3f}, p50 "
        f"{cal['cut_p50']:.3f} ({cal['missed_cuts']:.2%} under it).",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_decode.md").write_text("```\n" + text + "\n```\n")
    (RESULTS / "video_decode.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
