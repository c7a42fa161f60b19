"""Real photographs for the matching benchmarks, from Debian packages (never committed).

The photos are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into a cache
folder outside git ($CELLWATCH_BENCH_CACHE, else $XDG_CACHE_HOME/cellwatch-bench, else
~/.cache/cellwatch-bench) the first time a benchmark asks for them. Only photographs are
used (drawings and renders in the same packages are left out), and none of the photos bundled
with scikit-image, scikit-learn or PyWavelets: the independent check uses those.

Run alone to fetch and list: .venv/bin/python -m bench.photo_sources
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_OPENCV = "usr/share/doc/opencv-doc/examples"
_PLASMA = "usr/share/wallpapers"

# package -> photographs inside it (paths relative to the unpacked package)
SINGLES: dict[str, list[str]] = {
    "opencv-doc": [f"{_OPENCV}/data/{n}" for n in (
        "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg", "fruits.jpg",
        "home.jpg", "messi5.jpg", "orange.jpg", "squirrel_cls.jpg", "stuff.jpg",
        "box_in_scene.png")]
    + [f"{_OPENCV}/text/scenetext0{i}.jpg" for i in range(1, 7)]
    + [f"{_OPENCV}/alphamat/input_images/plant.jpg"]
    + [f"{_OPENCV}/hfs/data/00{i}.jpg" for i in range(3)],
    "mate-backgrounds": [f"usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird",
        "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower")],
    "plasma-workspace-wallpapers": [f"{_PLASMA}/{n}/contents/images/{s}" for n, s in (
        ("BytheWater", "2560x1600.jpg"), ("ColdRipple", "2560x1600.jpg"),
        ("ColorfulCups", "2560x1600.jpg"), ("DarkestHour", "2560x1600.jpg"),
        ("EveningGlow", "2560x1600.jpg"), ("FallenLeaf", "2560x1600.jpg"),
        ("Grey", "2560x1600.jpg"), ("Kite", "2560x1600.jpg"),
        ("OneStandsOut", "2560x1600.jpg"), ("Path", "2560x1600.jpg"),
        ("summer_1am", "2560x1600.jpg"), ("Volna", "5120x2880.jpg"))],
}

# Real pairs: two photographs of one scene. "view": another viewpoint (aerial pair, stereo
# pairs, the graffiti wall seen from the side); "second": the same view taken again (other
# light, a moment later, or edited).
PAIRS: list[tuple[str, str, str]] = [
    (f"{_OPENCV}/data/aero1.jpg", f"{_OPENCV}/data/aero3.jpg", "view"),
    (f"{_OPENCV}/data/aloeL.jpg", f"{_OPENCV}/data/aloeR.jpg", "view"),
    (f"{_OPENCV}/data/left.jpg", f"{_OPENCV}/data/right.jpg", "view"),
    (f"{_OPENCV}/data/graf1.png", f"{_OPENCV}/data/graf3.png", "view"),
    (f"{_OPENCV}/data/leuvenA.jpg", f"{_OPENCV}/data/leuvenB.jpg", "second"),
    (f"{_OPENCV}/data/rubberwhale1.png", f"{_OPENCV}/data/rubberwhale2.png", "second"),
    (f"{_OPENCV}/data/basketball1.png", f"{_OPENCV}/data/basketball2.png", "second"),
    (f"{_OPENCV}/data/ela_original.jpg", f"{_OPENCV}/data/ela_modified.jpg", "second"),
]
PACKAGES = sorted(SINGLES)


@dataclass(frozen=True)
class Source:
    """One source photograph (the reference) and, for a real pair, its second photograph."""

    name: str
    path: Path
    second: Path | None = None
    pair_kind: str | None = None  # "view" or "second"


def cache_dir() -> Path:
    explicit = os.environ.get("CELLWATCH_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cellwatch-bench"


def _unpacked(package: str) -> Path:
    root = cache_dir() / "debian" / package
    if (root / ".done").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True,
                       capture_output=True)
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if len(debs) != 1:
            raise RuntimeError(f"apt-get download {package} gave {debs}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
    (root / ".done").write_text(debs[0].name + "\n")
    return root


def sources() -> list[Source]:
    """Every source photograph, fetched first if missing (a few hundred MB, once)."""
    roots = {p: _unpacked(p) for p in PACKAGES}
    out = [Source(Path(rel).stem if pkg != "plasma-workspace-wallpapers"
                  else rel.split("/")[3], roots[pkg] / rel)
           for pkg, rels in SINGLES.items() for rel in rels]
    out += [Source(Path(a).stem, roots["opencv-doc"] / a, roots["opencv-doc"] / b, kind)
            for a, b, kind in PAIRS]
    missing = [s.path for s in out if not s.path.exists()]
    if missing:
        raise RuntimeError(f"photos missing from the unpacked packages: {missing}")
    return out


if __name__ == "__main__":
    found = sources()
    for s in found:
        print(s.name, s.path.stat().st_size, s.pair_kind or "")
    print(f"{len(found)} source photographs in {cache_dir()}")
