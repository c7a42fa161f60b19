"""Decoding an upload once vs the intake code it replaced (used by bench/intake_speed.py).

The baseline below is the former preparation, kept verbatim in substance: the display copy
decoded the upload (JPEG draft to the display size), then `analyse_image(data)` decoded it
again at its own draft size, and a screenshot a third time for its trimmed photo.
"""

from __future__ import annotations

import hashlib
import io
import math
import statistics
import time
from collections.abc import Callable

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
