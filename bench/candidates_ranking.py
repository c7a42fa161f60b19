"""What grouping an image's candidates per cell costs when they are read.

An image with N matches (5 reference photos per cell, and a tenth of the matches with held
images in no library) on a migrated SQLite file; for each N the median wall time of
- `candidates_json` (ranked per cell, as the API and pages answer), and
- the flat description of the same matches (`describe` over them, unranked): the work the
  presenter did before grouping, as a baseline.

Run: .venv/bin/python -m bench.candidates_ranking
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, col, select

from app.db import make_engine
from app.estate.models import Cell, Establishment
from app.evidence.hashing import to_signed
from app.evidence.models import Image, ReferencePhoto
from app.matching.models import Match
from app.matching.presenters import candidates_json, describe
from bench.scale_support import RESULTS, fresh_sqlite

SIZES = (10, 100, 1000)
REPEAT = 30
TZ = "Europe/London"


def _image(n: int, rng: random.Random) -> Image:
    bits = rng.getrandbits(64)
    return Image(sha256=f"{n:064x}", format="jpeg", byte_size=1, width=640, height=480,
                 storage_key=f"{n:064x}", wrapped_key=b"x", phash=to_signed(bits),
                 phash_mirror=to_signed(bits), phash_trim=to_signed(bits),
                 dhash=to_signed(rng.getrandbits(64)))


def load(session: Session, size: int, rng: random.Random, start: int) -> int:
    """An image with `size` matches; returns its id."""
    est = Establishment(code=f"E{size}", name="bench")
    session.add(est)
    session.flush()
    query = _image(start, rng)
    session.add(query)
    session.flush()
    for i in range(size):
        other = _image(start + 1 + i, rng)
        session.add(other)
        session.flush()
        if i % 10 != 9:  # a tenth: held images in no library
            if i % 5 == 0:
                cell = Cell(establishment_id=est.id, label=f"A-1-{i:03d}", wing="A",
                            landing="1")
                session.add(cell)
                session.flush()
            session.add(ReferencePhoto(image_id=other.id, cell_id=cell.id))
        features = rng.random() < 0.3
        session.add(Match(query_image_id=query.id, candidate_image_id=other.id,
                          method="features" if features else "phash",
                          distance=64 if features else rng.randint(0, 3),
                          inliers=rng.randint(20, 150) if features else None))
    session.commit()
    return query.id or 0


def median_ms(fn) -> float:  # noqa: ANN001
    fn()
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = random.Random(7)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_sqlite(Path(tmp) / "bench.db")
        engine = make_engine(url)
        start = 1
        for size in SIZES:
            with Session(engine) as session:
                image_id = load(session, size, rng, start)
                start += size + 1
                matches = list(session.exec(select(Match).where(
                    col(Match.query_image_id) == image_id)).all())
                ranked = median_ms(lambda i=image_id, s=session: candidates_json(s, i, TZ))
                flat = median_ms(lambda i=image_id, s=session, m=matches: describe(s, i, m, TZ))
                entries = len(candidates_json(session, image_id, TZ)["candidates"])
            results.append({"matches": size, "entries": entries, "ranked_ms": round(ranked, 2),
                            "flat_ms": round(flat, 2), "ratio": round(ranked / flat, 2)})
        engine.dispose()
    lines = [f"Reading an image's candidates (median of {REPEAT}, SQLite):"]
    lines += [f"  {r['matches']:>5} matches -> {r['entries']:>4} entries: ranked per cell "
              f"{r['ranked_ms']:.1f} ms, flat {r['flat_ms']:.1f} ms ({r['ratio']:.2f}x)"
              for r in results]
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "candidates_ranking.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "candidates_ranking.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
