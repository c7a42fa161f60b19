"""Decoding an upload once vs the intake code it replaced (used by bench/intake_speed.py).

Run alone (.venv/bin/python -m bench.intake_decode) it measures how closely intake's analysis
of the one decoded picture agrees with analyse_image, which the accuracy benchmark measures.

The baseline below is the former preparation, kept verbatim in substance: the display copy
decoded the upload (JPEG draft to the display size), then `analyse_image(data)` decoded it
again at its own draft size, and a screenshot a third time for its trimmed photo.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFile, ImageOps
from sqlmodel import Session, SQLModel, create_engine

import app.models  # noqa: F401 - every table, for the in-memory schema
from app.evidence import images
from app.evidence.derive import _display_jpeg
from app.evidence.exif import read_exif
from app.evidence.hashing import analyse_image
from app.evidence.validation import ACCEPTED, check_upload
from app.settings import Settings


def baseline_prepare(session: Session, settings: Settings, data: bytes) -> None:
    """What images.prepare did before: check, sha256 lookup, display decode, analyse_image."""
    facts = check_upload(data, "upload", settings)
    images.find_by_sha256(session, hashlib.sha256(data).hexdigest())
    with Image.open(io.BytesIO(data), formats=[ACCEPTED[facts.format]]) as img:
        if facts.format == "jpeg":
            scale = settings.display_long_side / max(img.size)
            if scale < 1:
                img.draft(img.mode, (math.ceil(img.width * scale),
                                     math.ceil(img.height * scale)))
        img.load()
        read_exif(img, settings.local_timezone)
        _display_jpeg(ImageOps.exif_transpose(img), settings.display_long_side)
    analyse_image(data)


def count_decodes(fn: Callable[[], object]) -> list[tuple[str, tuple[int, int]]]:
    """(format, size) of each picture Pillow decoded while fn ran."""
    seen: list[tuple[str, tuple[int, int]]] = []
    real = ImageFile.ImageFile.load

    def counting(self: ImageFile.ImageFile) -> object:
        if self.tile:
            seen.append((str(self.format), self.size))
        return real(self)

    ImageFile.ImageFile.load = counting  # type: ignore[method-assign]
    try:
        fn()
    finally:
        ImageFile.ImageFile.load = real  # type: ignore[method-assign]
    return seen


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def prepare_comparison(uploads: dict[str, bytes], repeat: int = 15) -> dict:
    """Baseline and images.prepare alternately on each upload; medians in ms."""
    settings = Settings()
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    out: dict = {"repeat": repeat, "uploads": {}}
    lines = ["  | upload | decodes before / now | CPU before | CPU now | ratio | wall before |"
             " wall now | ratio |", "  |---|---|---|---|---|---|---|---|---|"]
    with Session(engine) as session:
        for name, data in uploads.items():
            def before(d: bytes = data) -> None:
                baseline_prepare(session, settings, d)

            def now(d: bytes = data) -> None:
                images.prepare(session, settings, data=d, filename="upload")

            counts = (count_decodes(before), count_decodes(now))
            runs: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
            for _ in range(repeat):
                runs["before"].append(_timed(before))
                runs["now"].append(_timed(now))
            med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
                   for k, v in runs.items()}
            row = {"bytes": len(data), "decodes_before": counts[0], "decodes_now": counts[1],
                   "cpu_ms_before": round(med["before"][0], 1),
                   "cpu_ms_now": round(med["now"][0], 1),
                   "wall_ms_before": round(med["before"][1], 1),
                   "wall_ms_now": round(med["now"][1], 1)}
            row["cpu_ratio"] = round(row["cpu_ms_now"] / row["cpu_ms_before"], 2)
            row["wall_ratio"] = round(row["wall_ms_now"] / row["wall_ms_before"], 2)
            out["uploads"][name] = row
            lines.append(
                f"  | {name} | {len(counts[0])} / {len(counts[1])} | "
                f"{row['cpu_ms_before']:.1f} ms | {row['cpu_ms_now']:.1f} ms | "
                f"{row['cpu_ratio']:.2f} | {row['wall_ms_before']:.1f} ms | "
                f"{row['wall_ms_now']:.1f} ms | {row['wall_ratio']:.2f} |")
    engine.dispose()
    out["lines"] = lines
    return out


HASHES = ("phash", "phash_mirror", "phash_trim", "dhash")


def agreement(scenes: int = 20) -> dict:
    """Intake's analysis (one decode) against analyse_image's on the accuracy benchmark's
    images: each scene's reference photo, its ten edited copies and a moved-camera photo."""
    import numpy as np

    from app.evidence.derive import decode
    from app.evidence.hashing import hamming, verify_features
    from app.evidence.validation import sniff
    from bench.matching_accuracy import TRANSFORMS, make_scene, moved_camera, photograph, render

    bits: dict[str, list[int]] = {name: [] for name in HASHES}
    ratios: list[float] = []
    for seed in range(10_000, 10_000 + scenes):  # not the accuracy benchmark's own seeds
        scene = make_scene(seed)
        rng = np.random.default_rng(seed)
        ref = photograph(render(scene, scene.camera), rng)
        uploads = [ref] + [fn(ref, rng) for fn in TRANSFORMS.values()]
        uploads.append(photograph(render(scene, moved_camera(scene, rng)[0]), rng))
        for data in uploads:
            ours = decode(data, sniff(data) or "", "upload", long_side=1600,
                          local_timezone="Europe/London").analysis
            theirs = analyse_image(data)
            for name in HASHES:
                bits[name].append(hamming(getattr(ours.hashes, name),
                                          getattr(theirs.hashes, name)))
            own = verify_features(theirs.features, theirs.features)
            ratios.append(verify_features(ours.features, theirs.features) / max(1, own))
    n = len(ratios)
    return {"images": n,
            "bits_apart_share": {name: {b: round(v.count(b) / n, 3) for b in sorted(set(v))}
                                 for name, v in bits.items()},
            "verify_ratio_p5_p50": [round(float(x), 3)
                                    for x in np.percentile(ratios, [5, 50])]}


def main() -> None:
    res = agreement()
    lines = ["Intake's one-decode analysis vs analyse_image (the benchmarks' path), "
             f"{res['images']} images (rendered cells, their edited copies, moved cameras):",
             "  bits apart, share of images: " + "; ".join(
                 f"{name} {shares}" for name, shares in res["bits_apart_share"].items()),
             "  verify score of one's features against the other's, over analyse_image's own "
             f"score: p5 {res['verify_ratio_p5_p50'][0]}, p50 {res['verify_ratio_p5_p50'][1]}"]
    print("\n".join(lines))
    results = Path(__file__).resolve().parent / "results"
    (results / "intake_decode.json").write_text(json.dumps(res, indent=2) + "\n")
    (results / "intake_decode.md").write_text("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
