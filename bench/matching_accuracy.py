"""Matching accuracy benchmark on procedurally rendered prison-cell photos (no network).

Each scene is a 3D room (walls, floor, ceiling, barred window, door, bed, table, shelf, toilet,
posters, stains, graffiti) rendered through a pinhole camera by warping textured planes, so
"another photo from a nearby viewpoint" is a genuine re-render from a moved camera (parallax,
new exposure and noise). Posters use real photographs from Debian packages
(bench/photo_sources.py). Real photographs themselves: bench/matching_accuracy_real.py.

Run: .venv/bin/python -m bench.matching_accuracy [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from app.demo import room_textures
from app.demo.room_textures import WORDS
from app.demo.rooms import decode, jpeg, make_scene, moved_camera, photograph, render

# The renderer of the rooms lives in app/demo (the demo estate draws its cells with it); here
# its posters are real photographs, as they always were for these figures.
__all__ = ["WORDS", "decode", "jpeg", "make_scene", "moved_camera", "photograph", "render"]
RESULTS = Path(__file__).resolve().parent / "results"

_POOL: list[np.ndarray] = []


def photo_pool() -> list[np.ndarray]:
    """RGB photos from Debian packages (bench/photo_sources.py), at most 640 px: posters.
    Never the photos bundled with scikit-image, scikit-learn or PyWavelets (the independent
    check uses those)."""
    if not _POOL:
        from bench.photo_sources import sources

        for src in sources():
            img = Image.open(src.path)
            img.draft("RGB", (640, 640))
            img = img.convert("RGB")
            img.thumbnail((640, 640))
            _POOL.append(np.ascontiguousarray(np.asarray(img)))
    return _POOL


room_textures.photo_source = photo_pool

# ----------------------------------------------------------------------------- transformations


def t_reencode(data: bytes, rng: np.random.Generator) -> bytes:
    return jpeg(decode(data), int(rng.integers(30, 71)))


def t_resize(data: bytes, rng: np.random.Generator) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    f = 1080 / max(img.size)
    img = img.resize((round(img.width * f), round(img.height * f)), Image.Resampling.LANCZOS)
    return jpeg(np.asarray(img), int(rng.integers(75, 91)))


def t_brightness(data: bytes, rng: np.random.Generator) -> bytes:
    c = rng.uniform(0.7, 1.3)
    b = rng.uniform(20, 45) * rng.choice([-1, 1])
    img = (decode(data).astype(np.float32) - 128) * c + 128 + b
    return jpeg(np.clip(img, 0, 255).astype(np.uint8), 85)


def t_filter(data: bytes, rng: np.random.Generator) -> bytes:
    img = decode(data).astype(np.float32)
    kind = rng.integers(5)
    if kind == 0:  # sepia
        m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
        img = img @ m.T
    elif kind == 1:  # warm / cool tint
        img = img * (np.array([1.15, 1.0, 0.8]) if rng.random() < 0.5 else [0.85, 1.0, 1.2])
    elif kind == 2:  # black and white, high contrast
        g = img.mean(axis=2, keepdims=True)
        img = np.repeat((g - 128) * 1.3 + 128, 3, axis=2)
    elif kind == 3:  # faded vintage: lifted blacks, low contrast, tint
        img = img * 0.7 + np.array([60, 45, 30])
    else:  # saturation boost
        g = img.mean(axis=2, keepdims=True)
        img = g + (img - g) * 1.8
    return jpeg(np.clip(img, 0, 255).astype(np.uint8), 85)


def t_mirror(data: bytes, rng: np.random.Generator) -> bytes:
    return jpeg(np.ascontiguousarray(decode(data)[:, ::-1]), int(rng.integers(80, 93)))


def t_crop(data: bytes, rng: np.random.Generator) -> bytes:
    """Remove 10-20% of the width and of the height, at a random offset."""
    img = decode(data)
    h, w = img.shape[:2]
    c = rng.uniform(0.10, 0.20)
    ch, cw = int(h * (1 - c)), int(w * (1 - c))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return jpeg(np.ascontiguousarray(img[y:y + ch, x:x + cw]), 85)


def t_screenshot(data: bytes, rng: np.random.Generator) -> bytes:
    """The photo inside a phone app: status bar, header, buttons, caption, nav bar or borders."""
    img = decode(data)
    dark = rng.random() < 0.4
    bg, fg = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    sw, sh = 1080, int(rng.choice([1920, 2340, 2400]))
    canvas = np.empty((sh, sw, 3), np.uint8)
    canvas[:] = bg
    margin = 0 if rng.random() < 0.6 else int(rng.integers(20, 80))  # bordered layouts
    pw = sw - 2 * margin
    ph = int(img.shape[0] * pw / img.shape[1])
    top = int(rng.integers(250, max(251, sh - ph - 600)))
    canvas[top:top + ph, margin:margin + pw] = cv2.resize(img, (pw, ph),
                                                           interpolation=cv2.INTER_AREA)
    cv2.putText(canvas, f"{rng.integers(1, 13)}:{rng.integers(0, 60):02d}", (40, 60),
                cv2.FONT_HERSHEY_SIMPLEX, 1.4, fg, 3, cv2.LINE_AA)
    for i in range(3):
        cv2.rectangle(canvas, (sw - 200 + i * 55, 25), (sw - 160 + i * 55, 60), fg, -1)
    cv2.circle(canvas, (80, top - 80), 45, tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    cv2.putText(canvas, str(rng.choice(WORDS)).lower() + "_" + str(rng.integers(10, 99)),
                (150, top - 65), cv2.FONT_HERSHEY_SIMPLEX, 1.3, fg, 3, cv2.LINE_AA)
    y = top + ph + 70
    for i in range(4):
        cv2.circle(canvas, (70 + i * 110, y), 30, fg, 4)
    for line in range(int(rng.integers(1, 4))):
        words = " ".join(str(w).lower() for w in rng.choice(WORDS, 5))
        cv2.putText(canvas, words, (40, y + 90 + line * 60), cv2.FONT_HERSHEY_SIMPLEX, 1.3, fg,
                    2, cv2.LINE_AA)
    cv2.rectangle(canvas, (0, sh - 140), (sw, sh), tuple(v // 2 + 60 for v in bg), -1)
    for i in range(5):
        cv2.circle(canvas, (108 + i * 216, sh - 70), 28, fg, 4)
    if rng.random() < 0.3:  # the user cut the status bar off
        canvas = canvas[int(rng.integers(80, 200)):]
    if rng.random() < 0.5:
        buf = io.BytesIO()
        Image.fromarray(canvas).save(buf, "PNG", compress_level=1)
        return buf.getvalue()
    return jpeg(canvas, int(rng.integers(75, 95)))


def t_overlay(data: bytes, rng: np.random.Generator) -> bytes:
    """Caption text and emoji-like stickers over the photo."""
    img = decode(data).copy()
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(1, 4))):
        r = int(w * rng.uniform(0.05, 0.1))
        cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
        if rng.random() < 0.5:  # smiley
            cv2.circle(img, (cx, cy), r, (250, 205, 40), -1, cv2.LINE_AA)
            cv2.circle(img, (cx - r // 3, cy - r // 4), r // 8, (40, 30, 20), -1)
            cv2.circle(img, (cx + r // 3, cy - r // 4), r // 8, (40, 30, 20), -1)
            cv2.ellipse(img, (cx, cy + r // 8), (r // 2, r // 3), 0, 0, 180, (40, 30, 20), 4)
        else:  # heart / label
            col = (230, 30, 60) if rng.random() < 0.5 else tuple(
                int(v) for v in rng.integers(0, 255, 3))
            cv2.circle(img, (cx - r // 2, cy), r // 2, col, -1, cv2.LINE_AA)
            cv2.circle(img, (cx + r // 2, cy), r // 2, col, -1, cv2.LINE_AA)
            pts = np.array([[cx - r, cy + r // 8], [cx + r, cy + r // 8], [cx, cy + r]])
            cv2.fillConvexPoly(img, pts.astype(np.int32), col, cv2.LINE_AA)
    caption = " ".join(str(x) for x in rng.choice(WORDS, int(rng.integers(1, 4))))
    scale = w / 400
    x, y = int(rng.integers(0, w // 3)), int(rng.integers(h // 5, h - 20))
    cv2.putText(img, caption, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, (0, 0, 0), 12, cv2.LINE_AA)
    cv2.putText(img, caption, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), 5,
                cv2.LINE_AA)
    return jpeg(img, 85)


def t_rotate(data: bytes, rng: np.random.Generator) -> bytes:
    """Rotate by 5 degrees either way; half keep black corners, half crop them off."""
    img = decode(data)
    h, w = img.shape[:2]
    ang = 5.0 * rng.choice([-1, 1])
    m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, 1.0)
    if rng.random() < 0.5:  # straighten-style: zoom so no corner shows
        a = math.radians(5)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), ang,
                                    math.cos(a) + math.sin(a) * max(w / h, h / w))
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return jpeg(out, 85)


TRANSFORMS: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
    "reencode": t_reencode, "resize_1080": t_resize, "brightness_contrast": t_brightness,
    "colour_filter": t_filter, "mirror": t_mirror, "crop_10_20": t_crop,
    "screenshot": t_screenshot, "overlay": t_overlay, "rotate_5": t_rotate,
}
KINDS = [*TRANSFORMS, "viewpoint"]
GROUPS = [  # (requirement row, transformations, required link rate)
    ("re-encode, resize 1080, brightness/contrast, colour filter",
     ["reencode", "resize_1080", "brightness_contrast", "colour_filter"], 0.99),
    ("mirror", ["mirror"], 0.95),
    ("crop 10-20%", ["crop_10_20"], 0.90),
    ("screenshot with app bars/borders; text or sticker overlay", ["screenshot", "overlay"], 0.85),
    ("rotation by 5 degrees", ["rotate_5"], 0.85),
    ("another photo from a nearby viewpoint", ["viewpoint"], 0.75),
]


# ----------------------------------------------------------------------------- measurement

HASH_FIELDS = ["phash", "phash_mirror", "phash_trim", "dhash"]


def build_scene(seed: int) -> dict:
    """Reference photo plus one query per change; hashes (11 x 4 int64) and ORB features."""
    from app.evidence.derive import analyse_stored

    scene = make_scene(seed)
    rng = np.random.default_rng(seed + 1_000_003)
    ref = photograph(render(scene, scene.camera), rng)
    images = [ref] + [fn(ref, rng) for fn in TRANSFORMS.values()]
    cam, step, turn = moved_camera(scene, rng)
    images.append(photograph(render(scene, cam), rng))
    analyses = [analyse_stored(b, long_side=1600) for b in images]  # as intake stores them
    hashes = np.array([[getattr(a.hashes, f) for f in HASH_FIELDS] for a in analyses], np.int64)
    return {"seed": seed, "step_m": step, "turn_deg": turn, "hashes": hashes,
            "features": [a.features for a in analyses]}


def verify_batch(pairs: list[tuple[bytes, bytes]]) -> list[int]:
    from app.evidence.hashing import verify_features

    return [verify_features(a, b) for a, b in pairs]


def pmap(fn: Callable, items: list, workers: int, chunk: int = 1) -> list:
    if workers <= 1:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(workers) as ex:
        return list(ex.map(fn, items, chunksize=chunk))


def verify_pairs(pairs: list[tuple[bytes, bytes]], workers: int) -> np.ndarray:
    batches = [pairs[i:i + 200] for i in range(0, len(pairs), 200)]
    return np.array([n for b in pmap(verify_batch, batches, workers) for n in b], np.int32)


def ham(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # via uint64: np.bitwise_count of a signed int counts the bits of its absolute value
    return np.bitwise_count((a[:, None] ^ b[None, :]).view(np.uint64)).astype(np.int16)


GLOBAL_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    # a: queries (n x 4), b: library (m x 4) -> n x m distances; the query's own hashes are
    # compared against the library's columns (what app.matching.index does).
    "dhash": lambda a, b: ham(a[:, 3], b[:, 3]),
    "phash": lambda a, b: ham(a[:, 0], b[:, 0]),
    "phash+mirror": lambda a, b: np.minimum(ham(a[:, 0], b[:, 0]), ham(a[:, 0], b[:, 1])),
    "phash+mirror+trim": lambda a, b: np.minimum.reduce(
        [ham(a[:, 0], b[:, 0]), ham(a[:, 0], b[:, 1]), ham(a[:, 2], b[:, 2])]),
}

FINAL_GLOBAL = "phash+mirror+trim"
SHORT_GLOBAL = 8  # second-stage candidates: this many nearest by global distance ...
SHORT_VOTES = 8  # ... plus this many with the most descriptor votes (DescriptorIndex)


def measure(scenes: list[dict], workers: int) -> dict:
    """Raw measurements of one set of scenes (thresholds are applied later)."""
    from app.evidence.hashing import prefilter_descriptors
    from app.matching.index import DescriptorIndex

    n = len(scenes)
    hashes = np.stack([s["hashes"] for s in scenes])  # n x 11 x 4
    refs, queries = hashes[:, 0], hashes[:, 1:]
    every = hashes.reshape(-1, 4)
    label = np.repeat(np.arange(n), 11)
    upper = np.triu(label[:, None] != label[None, :], 1)
    out: dict = {"scenes": n, "global": {}}
    for name, fn in GLOBAL_METHODS.items():
        d = fn(every, every)
        d = np.minimum(d, d.T)  # a pair links if either image finds the other
        own = np.stack([fn(queries[:, k], refs)[np.arange(n), np.arange(n)]
                        for k in range(len(KINDS))], axis=1)
        out["global"][name] = {"own": own, "distinct": np.bincount(d[upper], minlength=65),
                               "pairs": int(upper.sum())}
    # second stage: candidates per query, then geometric verification
    dindex = DescriptorIndex()
    dindex.add(np.arange(n), np.stack([prefilter_descriptors(s["features"][0]) for s in scenes]))
    fn = GLOBAL_METHODS[FINAL_GLOBAL]
    rank_g = np.zeros((n, len(KINDS)), np.int32)
    rank_v = np.zeros((n, len(KINDS)), np.int32)
    pairs: list[tuple[int, int, int]] = []  # (scene, kind, ref)
    for k in range(len(KINDS)):
        dist = fn(queries[:, k], refs).astype(np.int64) * n + np.arange(n)[None, :]
        order = np.argsort(dist, axis=1)
        for i in range(n):
            rank_g[i, k] = int(np.flatnonzero(order[i] == i)[0])
            voted = [r for r, _ in dindex.query(prefilter_descriptors(scenes[i]["features"][k + 1]),
                                                limit=n)]
            rank_v[i, k] = voted.index(i) if i in voted else n
            cands = set(order[i, :SHORT_GLOBAL].tolist()) | set(voted[:SHORT_VOTES])
            pairs += [(i, k, int(r)) for r in sorted(cands)]
    scores = verify_pairs([(scenes[i]["features"][k + 1], scenes[r]["features"][0])
                           for i, k, r in pairs], workers)
    own_score = np.full((n, len(KINDS)), -1, np.int32)
    distinct = []
    for (i, k, r), sc in zip(pairs, scores, strict=True):
        if r == i:
            own_score[i, k] = sc
        else:
            distinct.append(sc)
    ref_pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    ref_scores = verify_pairs([(scenes[i]["features"][0], scenes[j]["features"][0])
                               for i, j in ref_pairs], workers)
    out["stage2"] = {"own": own_score, "rank_global": rank_g, "rank_votes": rank_v,
                     "distinct_candidates": np.array(distinct, np.int32),
                     "distinct_refs": ref_scores}
    out["viewpoint"] = {"step_m": [s["step_m"] for s in scenes],
                        "turn_deg": [s["turn_deg"] for s in scenes]}
    return out


def global_threshold(m: dict, method: str) -> int:
    """Largest distance with no distinct-scene pair at or below it."""
    hist = m["global"][method]["distinct"]
    return int(np.flatnonzero(hist)[0]) - 1


def verify_threshold(m: dict) -> int:
    """Smallest score above every verified distinct-scene pair, with a 25% safety margin."""
    top = max(int(m["stage2"]["distinct_candidates"].max(initial=0)),
              int(m["stage2"]["distinct_refs"].max(initial=0)))
    return math.ceil((top + 1) * 1.25)


def evaluate(m: dict, t_global: dict[str, int], t_verify: int) -> dict:
    """Link rate per change and false links for every method, at the given thresholds."""
    rows = {}
    for name, g in m["global"].items():
        t = t_global[name]
        rows[name] = {"link": (g["own"] <= t).mean(axis=0),
                      "false": int(g["distinct"][:t + 1].sum()),
                      "pairs": g["pairs"], "threshold": f"distance <= {t}"}
    g = m["global"][FINAL_GLOBAL]
    s2 = m["stage2"]
    t = t_global[FINAL_GLOBAL]
    base_false = int(g["distinct"][:t + 1].sum())
    false2 = int((s2["distinct_candidates"] >= t_verify).sum() + (s2["distinct_refs"] >= t_verify)
                 .sum())
    pairs2 = g["pairs"] + len(s2["distinct_candidates"]) + len(s2["distinct_refs"])
    verified = s2["own"] >= t_verify
    in_global = s2["rank_global"] < SHORT_GLOBAL
    for name, shortlisted in [(f"+stage 2, global top-{SHORT_GLOBAL}", in_global),
                              (f"+stage 2, global top-{SHORT_GLOBAL} + votes top-{SHORT_VOTES}",
                               in_global | (s2["rank_votes"] < SHORT_VOTES))]:
        rows[name] = {"link": ((g["own"] <= t) | (verified & shortlisted)).mean(axis=0),
                      "false": base_false + false2, "pairs": pairs2,
                      "threshold": f"distance <= {t} or verify score >= {t_verify}"}
    return rows


def recall_table(m: dict) -> dict:
    s2 = m["stage2"]
    return {kind: {f"global top-{k}": float((s2["rank_global"][:, i] < k).mean())
                   for k in (1, 8, 32)} | {f"votes top-{k}": float((s2["rank_votes"][:, i] < k)
                                                                     .mean()) for k in (1, 8, 32)}
            for i, kind in enumerate(KINDS)}


def render_report(rows: dict, label: str, n_scenes: int) -> str:
    names = list(rows)
    lines = [f"### {label} ({n_scenes} scenes)", "",
             "| change | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for i, kind in enumerate(KINDS):
        lines.append(f"| {kind} | " + " | ".join(f"{rows[n]['link'][i]:.0%}" for n in names)
                     + " |")
    lines.append("| **requirement groups** |" + " |" * len(names))
    for title, kinds, need in GROUPS:
        idx = [KINDS.index(k) for k in kinds]
        cells = []
        for n in names:
            rate = float(np.mean(rows[n]["link"][idx]))
            cells.append(f"{rate:.1%} {'ok' if rate >= need else 'FAIL'}")
        lines.append(f"| {title} (need {need:.0%}) | " + " | ".join(cells) + " |")
    lines.append("| false links / distinct-scene pairs | " + " | ".join(
        f"{rows[n]['false']} / {rows[n]['pairs']:,}" for n in names) + " |")
    lines.append("| threshold | " + " | ".join(rows[n]["threshold"] for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 + 60 scenes instead of 150 + 150")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--scenes", type=int, default=0, help="scenes per split (overrides)")
    args = ap.parse_args()
    per_split = args.scenes or (60 if args.quick else 150)
    t0 = time.time()
    built = pmap(build_scene, list(range(2 * per_split)), args.workers)
    calib, held = built[0::2], built[1::2]  # even seeds calibrate, odd seeds are held out
    print(f"rendered and analysed {len(built)} scenes x 11 images in {time.time() - t0:.0f} s")
    m_cal, m_held = measure(calib, args.workers), measure(held, args.workers)
    t_global = {name: global_threshold(m_cal, name) for name in GLOBAL_METHODS}
    t_verify = verify_threshold(m_cal)
    flag = (" --quick" if args.quick else "") + (f" --scenes {args.scenes}" if args.scenes else "")
    report = ["# Matching accuracy", "",
              f"Command: `.venv/bin/python -m bench.matching_accuracy{flag}`"
              f" ({time.time() - t0:.0f} s, {args.workers} workers). Thresholds are chosen on the "
              "calibration scenes (even seeds) and reported on held-out scenes (odd seeds).", "",
              f"Chosen: global distance <= {t_global[FINAL_GLOBAL]} ({FINAL_GLOBAL}); second "
              f"stage verify score >= {t_verify} over global top-{SHORT_GLOBAL} + votes "
              f"top-{SHORT_VOTES}.", ""]
    for label, m in [("Held-out", m_held), ("Calibration", m_cal)]:
        report += [render_report(evaluate(m, t_global, t_verify), label, m["scenes"]), ""]
    s2 = m_cal["stage2"]
    report += ["### Distinct-scene verify scores (calibration)", "",
               f"max over shortlisted pairs {int(s2['distinct_candidates'].max())}, over all "
               f"reference pairs {int(s2['distinct_refs'].max())}; same-scene viewpoint scores "
               f"p5/p10/p50: {np.percentile(s2['own'][:, -1], [5, 10, 50]).round(1).tolist()}", "",
               "### Candidate recall on held-out scenes (rank of the right reference)", "",
               "| change | " + " | ".join(recall_table(m_held)["viewpoint"]) + " |",
               "|---|" + "---|" * 6]
    for kind, rec in recall_table(m_held).items():
        report.append(f"| {kind} | " + " | ".join(f"{v:.0%}" for v in rec.values()) + " |")
    text = "\n".join(report)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    name = "matching_accuracy_quick" if args.quick or args.scenes else "matching_accuracy"
    (RESULTS / f"{name}.md").write_text(text + "\n")
    data = {"thresholds": {"global": t_global, "verify": t_verify,
                           "shortlist_global": SHORT_GLOBAL, "shortlist_votes": SHORT_VOTES},
            "held_out": _jsonable(evaluate(m_held, t_global, t_verify)),
            "calibration": _jsonable(evaluate(m_cal, t_global, t_verify)),
            "candidate_recall_held_out": recall_table(m_held), "kinds": KINDS,
            "scenes_per_split": per_split, "seconds": round(time.time() - t0, 1)}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def _jsonable(rows: dict) -> dict:
    return {n: {"link": dict(zip(KINDS, (round(float(x), 4) for x in r["link"]), strict=True)),
                "false_links": r["false"], "distinct_pairs": r["pairs"],
                "threshold": r["threshold"]} for n, r in rows.items()}


if __name__ == "__main__":
    main()
