"""CPU cost of taking an image in: its analysis (hashes + ORB features), and the whole
preparation before anything is stored (checks, one decode, display copy, analysis).

Run: .venv/bin/python -m bench.intake_speed
Targets: a 12-megapixel phone JPEG within 2x of Pillow decoding it at reduced size (draft);
a 1080 px JPEG in under 15 ms of CPU (time.process_time, all threads counted).

Decoding once: `images.prepare` (what every intake runs before its first write) against the
code it replaced, kept below as the baseline: the display copy decoded the upload, then
`analyse_image` decoded it again (and a screenshot a third time, for its trimmed photo). The
two run alternately on the same images, so the machine's load hits both alike; medians of
CPU time (all threads) and wall time, and how many times Pillow decoded pixels.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from app.evidence.hashing import WORK_SIDE, analyse_image, compute_hashes
from bench.intake_decode import prepare_comparison
from bench.matching_accuracy import jpeg, make_scene, photograph, render, t_screenshot

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def draft_decode(data: bytes) -> None:
    """Baseline: Pillow decoding only, at the reduced size the hashing code asks for."""
    img = Image.open(io.BytesIO(data))
    scale = (WORK_SIDE * 15 // 16) / max(img.size)
    img.draft("L", (int(img.width * scale), int(img.height * scale)))
    img.load()


def main() -> None:
    scene = make_scene(11)
    rng = np.random.default_rng(11)
    photo = np.asarray(Image.open(io.BytesIO(photograph(render(scene, scene.camera), rng))))
    big = cv2.resize(photo, (4032, 3024), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big + rng.normal(0, 3, big.shape[:2])[:, :, None], 0, 255).astype(np.uint8)
    jpeg_12mp = jpeg(big, 90)
    jpeg_1080 = jpeg(cv2.resize(photo, (1080, 810), interpolation=cv2.INTER_AREA), 85)
    shot = t_screenshot(jpeg_1080, rng)

    res = {}
    for name, data, repeat in [("12mp", jpeg_12mp, 15), ("1080", jpeg_1080, 60),
                               ("screenshot", shot, 30)]:
        res[name] = {
            "bytes": len(data),
            "draft_decode_ms": round(cpu_ms(lambda d=data: draft_decode(d), repeat), 2),
            "hashes_ms": round(cpu_ms(lambda d=data: compute_hashes(d), repeat), 2),
            "hashes_and_features_ms": round(cpu_ms(lambda d=data: analyse_image(d), repeat), 2),
        }
        res[name]["ratio_vs_draft_decode"] = round(
            res[name]["hashes_and_features_ms"] / res[name]["draft_decode_ms"], 2)
    shot_fmt = Image.open(io.BytesIO(shot)).format
    prepare = prepare_comparison({"12 MP phone JPEG": jpeg_12mp, "1080 px JPEG": jpeg_1080,
                                  f"1080x{Image.open(io.BytesIO(shot)).height} screenshot "
                                  f"({shot_fmt})": shot})
    r12, r1080 = res["12mp"], res["1080"]
    lines = [
        "Intake analysis CPU time (median, time.process_time):",
        f"  12 MP JPEG ({r12['bytes'] / 1e6:.1f} MB): draft decode {r12['draft_decode_ms']:.1f} ms;"
        f" hashes {r12['hashes_ms']:.1f} ms; hashes+features {r12['hashes_and_features_ms']:.1f} ms"
        f" = {r12['ratio_vs_draft_decode']:.2f}x decode (target <= 2x) "
        f"{'ok' if r12['ratio_vs_draft_decode'] <= 2 else 'FAIL'}",
        f"  1080 px JPEG: draft decode {r1080['draft_decode_ms']:.1f} ms; hashes "
        f"{r1080['hashes_ms']:.1f} ms; hashes+features {r1080['hashes_and_features_ms']:.1f} ms "
        f"(target < 15 ms) {'ok' if r1080['hashes_and_features_ms'] < 15 else 'FAIL'}",
        f"  1080x{Image.open(io.BytesIO(shot)).height} screenshot (second decode for the trimmed "
        f"photo): hashes+features {res['screenshot']['hashes_and_features_ms']:.1f} ms",
        "",
        "Intake preparation before the first write (checks, decode, display copy, hashes,",
        "features), decoded once vs the former display decode + analyse_image (medians):",
    ] + prepare.pop("lines")
    res["prepare"] = prepare
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "intake_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    (RESULTS / "intake_speed.md").write_text("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
