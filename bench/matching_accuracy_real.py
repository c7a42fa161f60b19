"""Matching accuracy on real photographs, exactly as the product decides (held-out figures).

Source photographs come from Debian packages (bench/photo_sources.py; fetched on first use,
never committed), split by source photo into a calibration and a held-out half (fixed seed).
Every source's original is a reference photo in one library, with rendered cell photos as
distractors. Each change of bench/real_changes.py is applied to every source of a half; the
edited copy is analysed as intake does (derive.analyse_stored) and matched by the product's
own MatchEngine (near_duplicates, shortlist) and second-stage scoring (app.matching.service
`scored`, with the second look on the display copies' working images as a match worker runs
it), at the thresholds in force (app.matching.thresholds).

Per change it reports: the hit rate of the true source, the false links (to another source's
photo or a distractor), where misses happen (never shortlisted / scored under the threshold),
and the margin between the worst true verify score and the best false one.

Run: .venv/bin/python -m bench.matching_accuracy_real [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from app.matching.engine import MatchEngine
from bench.photo_sources import Source, sources
from bench.real_changes import CHANGES, PAIR_FLOORS, jpeg

RESULTS = Path(__file__).resolve().parent / "results"
SPLIT_SEED = 20261130
MAX_SIDE = 2048  # sources are kept at most this large (phone photos are 1080-4032 px)
DISPLAY_LONG_SIDE = 1600  # CELLWATCH_DISPLAY_LONG_SIDE's default: intake decodes to it
DISTRACTOR_ID0 = 100_000


@dataclass
class Outcome:
    split: str
    change: str
    source: int  # reference id of the true source
    near: bool  # linked by the first stage
    shortlisted: bool
    true_score: int  # -1 when not shortlisted
    linked: bool
    false: list[int]  # wrongly linked reference ids
    best_false: int  # best verify score of a wrong shortlisted candidate (0 if none)
    stage2_ms: float  # shortlist + verification of every shortlisted candidate, one process
    stage2_cpu_ms: float  # the same in CPU time (what the neighbours on the machine leave out)
    candidates: int  # how many were shortlisted


def _rgb(path: Path) -> np.ndarray:
    img = Image.open(path)
    img.draft("RGB", (MAX_SIDE, MAX_SIDE))
    img = img.convert("RGB")
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(img)


def split(found: list[Source]) -> dict[str, list[int]]:
    """Source indices of each half: by source photo (a pair stays together), fixed seed."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(found))
    return {"calibration": sorted(order[0::2].tolist()), "held_out": sorted(order[1::2].tolist())}


# ----------------------------------------------------------------------------- the library
# Built once in the parent; worker processes are forked and share it read-only.
_STATE: dict = {}


class BenchEngine(MatchEngine):
    """The product's MatchEngine over an in-memory library (no database to refresh from)."""

    def refresh(self, caller: object) -> None:  # type: ignore[override]
        return None


def _analyse(data: bytes) -> tuple[SimpleNamespace, bytes]:
    from app.evidence.derive import analyse_stored

    a = analyse_stored(data, long_side=DISPLAY_LONG_SIDE)  # exactly what intake stores
    return SimpleNamespace(id=None, phash=a.hashes.phash, phash_mirror=a.hashes.phash_mirror,
                           phash_trim=a.hashes.phash_trim), a.features


def _display(data: bytes) -> bytes:
    """The display copy intake stores (what the second look reads in a match worker)."""
    import io

    from app.evidence.derive import decode

    fmt = (Image.open(io.BytesIO(data)).format or "").lower()
    return decode(data, fmt, "bench", long_side=DISPLAY_LONG_SIDE, local_timezone="UTC",
                  features=False).display


def _reference(job: tuple[int, bytes]) -> tuple[int, SimpleNamespace, bytes, bytes]:
    ref_id, data = job
    image, features = _analyse(data)
    return ref_id, image, features, _display(data)


def _scored(features: bytes, shortlist: list, data: bytes) -> list:
    """The second stage's scores of one upload (its bytes: `data`), second look included."""
    from app.evidence.sift import working_content
    from app.matching.service import scored

    displays = _STATE["displays"]
    return scored(features, shortlist, _STATE["blobs"], limits=_STATE["engine"].limits,
                  query=lambda: working_content(_display(data)),
                  pictures=lambda i: working_content(displays[i]) if i in displays else None)


def _room(seed: int) -> tuple[int, bytes]:
    from bench.matching_accuracy import make_scene, photograph, render

    scene = make_scene(seed)
    rng = np.random.default_rng(seed + 1_000_003)
    return DISTRACTOR_ID0 + seed, photograph(render(scene, scene.camera), rng)


def build_library(refs: list[tuple[int, SimpleNamespace, bytes, bytes]],
                  approximate: bool = False) -> None:
    from app.evidence.hashing import PREFILTER_KEYPOINTS, prefilter_descriptors
    from app.matching.index import DescriptorIndex

    engine = BenchEngine()
    if approximate:  # the nearest-neighbour index a large library uses, however small this one
        engine.votes = DescriptorIndex(PREFILTER_KEYPOINTS, ann_from=1)
    ids = np.array([r[0] for r in refs], np.int64)
    engine.hashes.add(ids, [[i.phash, i.phash_mirror, i.phash_trim] for _, i, _, _ in refs])
    engine.votes.add(ids, np.stack([prefilter_descriptors(f) for _, _, f, _ in refs]))
    _STATE["engine"] = engine
    _STATE["blobs"] = {r[0]: r[2] for r in refs}
    _STATE["displays"] = {r[0]: r[3] for r in refs}


# ----------------------------------------------------------------------------- one query


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


def run_query(job: tuple[str, str, int, int, Path | None]) -> Outcome:
    """Make the edited copy, analyse it and match it as the product does."""
    split_name, change, ref_id, variant, second = job
    src = _STATE["sources"][ref_id]
    if second is not None:
        data = jpeg(_rgb(second), 92)
    else:
        data = CHANGES[change][0](_rgb(src.path), np.random.default_rng(
            _seed(src.name, change, variant)))
    engine = _STATE["engine"]
    image, features = _analyse(data)
    near = {h.image_id for h in engine.near_duplicates(None, image, refresh=False)}
    started, cpu = time.perf_counter(), time.process_time()
    shortlist = engine.shortlist(None, image, features)
    scores = {h.image_id: s for h, s in _scored(features, shortlist, data)}
    stage2_ms = (time.perf_counter() - started) * 1000
    stage2_cpu_ms = (time.process_time() - cpu) * 1000
    passed = {i for i, s in scores.items() if s >= engine.limits.verify_min_score}
    linked = near | passed
    wrong = [i for i in linked if i != ref_id]
    return Outcome(split_name, change, ref_id, ref_id in near, ref_id in scores,
                   scores.get(ref_id, -1), ref_id in linked, sorted(wrong),
                   max((s for i, s in scores.items() if i != ref_id), default=0), stage2_ms,
                   stage2_cpu_ms, len(shortlist))


def _init(state: dict) -> None:
    _STATE.update(state)


def pmap(fn: object, items: list, workers: int) -> list:
    if workers <= 1:
        return [fn(x) for x in items]  # type: ignore[operator]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
        return list(ex.map(fn, items, chunksize=4))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- report


def summarise(outcomes: list[Outcome], split_name: str) -> dict:
    rows: dict = {}
    floors = {name: floor for name, (_, floor) in CHANGES.items()} | PAIR_FLOORS
    for change, floor in floors.items():
        got = [o for o in outcomes if o.split == split_name and o.change == change]
        if not got:
            continue
        true_scores = [o.true_score for o in got if o.shortlisted and not o.near]
        rows[change] = {
            "queries": len(got), "floor": floor,
            "hit": sum(o.linked for o in got) / len(got),
            "false_links": sum(len(o.false) for o in got),
            "missed_not_shortlisted": sum(not o.linked and not o.shortlisted for o in got),
            "missed_under_threshold": sum(not o.linked and o.shortlisted for o in got),
            "near_duplicate": sum(o.near for o in got) / len(got),
            "worst_true_score": min(true_scores, default=None),
            "best_false_score": max((o.best_false for o in got), default=0),
        }
    return rows


def render_table(rows: dict, title: str) -> str:
    lines = [f"### {title}", "", "| change | queries | hit | floor | ok | false links | "
             "missed: not shortlisted / under threshold | first stage | worst true score | "
             "best false score |", "|---|---|---|---|---|---|---|---|---|---|"]
    for change, r in rows.items():
        ok = "ok" if r["hit"] >= r["floor"] and r["false_links"] == 0 else "FAIL"
        lines.append(
            f"| {change} | {r['queries']} | {r['hit']:.1%} | {r['floor']:.0%} | {ok} | "
            f"{r['false_links']} | {r['missed_not_shortlisted']} / "
            f"{r['missed_under_threshold']} | {r['near_duplicate']:.0%} | "
            f"{r['worst_true_score']} | {r['best_false_score']} |")
    return "\n".join(lines)


def _captioned(job: tuple[int, int]) -> tuple[bytes, bytes]:
    i, seed = job
    data = CHANGES["overlay_text"][0](_rgb(_STATE["sources"][i].path),
                                      np.random.default_rng(seed))
    return _analyse(data)[1], _display(data)


CAPTION_SEEDS = (7, 11, 23, 42, 99)  # placements of the shared caption: place, size, words


def _caption_pair(job: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]) -> int:
    """One pair as a second stage scores it (both orientations, second look included)."""
    from app.evidence.sift import working_content
    from app.matching.engine import Hit
    from app.matching.service import scored

    (a, a_display), (b, b_display) = job
    return scored(a, [Hit(1, 64, True)], {1: b}, limits=_STATE["engine"].limits,
                  query=lambda: working_content(a_display),
                  pictures=lambda _: working_content(b_display))[0][1]


def _caption_pairs(members: list[int], seeds: list[int], workers: int) -> list[int]:
    made = pmap(_captioned, list(zip(members, seeds, strict=True)), workers)
    return pmap(_caption_pair, [(a, b) for k, a in enumerate(made) for b in made[k + 1:]],
                workers)


def shared_captions(halves: dict[str, list[int]], workers: int) -> dict:
    """Different photographs carrying a caption: the same one at the same place (one account's
    watermark or running caption), and each its own. Every pair is verified as a second stage
    would (both orientations); a pair at the threshold would be a false link between two held
    images. Not a change of the table: no library photo carries a caption there. The shared
    caption is tried at several placements (the first is the one measured before)."""
    from app.matching import thresholds

    out: dict = {}
    for split_name, members in halves.items():
        runs = {f"same caption, placement {k + 1}": _caption_pairs(
                    members, [seed] * len(members), workers)
                for k, seed in enumerate(CAPTION_SEEDS)}
        runs[f"same caption, all {len(CAPTION_SEEDS)} placements"] = [
            x for scores in runs.values() for x in scores]
        runs["own caption"] = _caption_pairs(members, [7_000 + i for i in members], workers)
        for kind, scores in runs.items():
            out[f"{split_name}: {kind}"] = {
                "pairs": len(scores), "best": max(scores, default=0),
                "linked": sum(s >= thresholds.VERIFY_MIN_SCORE for s in scores)}
    return out


def cpu_speed(found: list[Source], held_out: list[int], per_change: int = 6) -> str:
    """CPU time of the second stage of one upload (shortlist + verification of every
    shortlisted candidate) in this one process: what one core spends, however busy the
    machine is (wall time on a shared machine measures the neighbours)."""
    engine, cpu, wall, counts = _STATE["engine"], [], [], []
    for k, change in enumerate(["crop_20", "overlay_text", "repost_chain", "view_strong",
                                "selfie_mirror_crop"]):
        for i in held_out[k::5][:per_change]:
            data = CHANGES[change][0](_rgb(found[i].path), np.random.default_rng(i))
            image, features = _analyse(data)
            c0, w0 = time.process_time(), time.perf_counter()
            shortlist = engine.shortlist(None, image, features)
            _scored(features, shortlist, data)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            counts.append(len(shortlist))
    return (f"Second stage of one upload, CPU time in one process ({len(cpu)} held-out "
            f"queries, {np.median(counts):.0f} candidates median, library of "
            f"{len(_STATE['blobs'])}): median {np.median(cpu):.0f} ms, p95 "
            f"{np.percentile(cpu, 95):.0f} ms (wall median {np.median(wall):.0f} ms on the "
            f"shared machine, load {os.getloadavg()[0]:.0f}).")


def main() -> None:
    from app.matching import thresholds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 variant of each change per source, 30 distractors (else 3, 120)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--speed", action="store_true",
                    help="only the second stage's CPU time per upload (30 queries)")
    ap.add_argument("--approximate", action="store_true",
                    help="shortlist by the approximate descriptor index (as from "
                         "DescriptorIndex.ann_from images on) instead of the exact scan")
    ap.add_argument("--without-second-look", action="store_true",
                    help="ORB's verification alone (second_look_max 0): the figures before "
                         "the second look, on the same machine state")
    args = ap.parse_args()
    t0 = time.time()
    variants, rooms = (1, 30) if args.quick or args.speed else (3, 120)
    found = sources()
    halves = split(found)
    refs_in = [(i, jpeg(_rgb(s.path), 92)) for i, s in enumerate(found)]
    refs = pmap(_reference, refs_in, args.workers)
    refs += pmap(_reference, pmap(_room, list(range(rooms)), args.workers), args.workers)
    build_library(refs, args.approximate)
    if args.without_second_look:
        _STATE["engine"].limits = replace(_STATE["engine"].limits, second_look_max=0)
    _STATE["sources"] = found
    alone = "_without_second_look" if args.without_second_look else ""
    alone_flag = " --without-second-look" if args.without_second_look else ""
    if args.speed:
        line = cpu_speed(found, halves["held_out"])
        print(line)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"matching_second_stage_cpu{alone}.md").write_text(
            "# Second stage CPU time\n\nCommand: `.venv/bin/python -m "
            f"bench.matching_accuracy_real --speed{alone_flag}`\n\n{line}\n")
        return
    jobs: list[tuple[str, str, int, int, Path | None]] = []
    for split_name, members in halves.items():
        for i in members:
            jobs += [(split_name, c, i, v, None) for c in CHANGES for v in range(variants)]
            if found[i].second is not None:
                kind = "second_photo" if found[i].pair_kind == "second" else "real_two_view"
                jobs.append((split_name, kind, i, 0, found[i].second))
    outcomes = pmap(run_query, jobs, args.workers)
    held, cal = summarise(outcomes, "held_out"), summarise(outcomes, "calibration")
    captions = shared_captions(halves, args.workers)
    ms = np.array([o.stage2_ms for o in outcomes])
    cpu_ms = np.array([o.stage2_cpu_ms for o in outcomes])
    speed = {"median_ms": round(float(np.median(ms)), 1),
             "p95_ms": round(float(np.percentile(ms, 95)), 1),
             "cpu_median_ms": round(float(np.median(cpu_ms)), 1),
             "cpu_p95_ms": round(float(np.percentile(cpu_ms, 95)), 1),
             "load_average": round(os.getloadavg()[0], 1),
             "median_candidates": float(np.median([o.candidates for o in outcomes]))}
    best_false_cal = max(r["best_false_score"] for r in cal.values())
    suggested = math.ceil((best_false_cal + 1) * 1.25)
    flag = ((" --quick" if args.quick else "") + (" --approximate" if args.approximate else "")
            + alone_flag)
    report = [
        "# Matching accuracy on real photographs", "",
        f"Command: `.venv/bin/python -m bench.matching_accuracy_real{flag}` "
        f"({time.time() - t0:.0f} s, {args.workers} workers). {len(found)} source photographs "
        f"from Debian packages (opencv-doc samples, mate-backgrounds, "
        f"plasma-workspace-wallpapers), split by source photo (seed {SPLIT_SEED}): "
        f"{len(halves['calibration'])} calibration, {len(halves['held_out'])} held out. "
        f"Library: every source's original plus {rooms} rendered cell photos as distractors. "
        f"{variants} variant(s) of each change per source. Shortlist by "
        + ("the approximate descriptor index (faiss binary IVF)" if args.approximate
           else "the exact descriptor scan") + ".", "",
        f"Thresholds in force: global distance <= {thresholds.GLOBAL_MAX_DISTANCE}, verify "
        f"score >= {thresholds.VERIFY_MIN_SCORE}, shortlist {thresholds.SHORTLIST_GLOBAL} "
        f"global + {thresholds.SHORTLIST_VOTES} votes. Calibration: best false verify score "
        f"{best_false_cal} -> 1.25 x (best + 1) = {suggested}.", "",
        "A hit: the true source is linked (first stage, or verify score at the threshold). "
        "False links: links to any other photo. Scores are over shortlisted candidates not "
        "already linked by the first stage.", "",
        f"Second stage per upload (shortlist + verification of every candidate, "
        f"{speed['median_candidates']:.0f} candidates median, one process each of "
        f"{args.workers}, machine shared, load average {speed['load_average']} at the end): "
        f"median {speed['median_ms']} ms, p95 {speed['p95_ms']} ms; CPU time median "
        f"{speed['cpu_median_ms']} ms, p95 {speed['cpu_p95_ms']} ms.", "",
        render_table(held, "Held-out half (the figures that count)"), "",
        render_table(cal, "Calibration half"), "",
        "### Different photographs carrying captions (false links between held images)", "",
        "Each photograph of a half gets the overlay_text caption: the same caption at the same "
        "place on all (as one account's watermark or running caption would be; "
        f"{len(CAPTION_SEEDS)} placements, each its own place, size and words), or each its "
        "own. Every pair is verified both ways round; `linked` pairs reach the threshold.", "",
        "| photographs | pairs | best score | linked |", "|---|---|---|---|",
        *[f"| {k} | {r['pairs']} | {r['best']} | {r['linked']} |" for k, r in captions.items()],
    ]
    text = "\n".join(report)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    name = ("matching_accuracy_real" + ("_quick" if args.quick else "")
            + ("_approximate" if args.approximate else "") + alone)
    (RESULTS / f"{name}.md").write_text(text + "\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({
        "held_out": held, "calibration": cal, "sources": len(found), "captions": captions,
        "split": {k: [found[i].name for i in v] for k, v in halves.items()},
        "distractors": rooms, "variants": variants, "suggested_verify_min": suggested,
        "thresholds": {"global": thresholds.GLOBAL_MAX_DISTANCE,
                       "verify": thresholds.VERIFY_MIN_SCORE,
                       "shortlist_global": thresholds.SHORTLIST_GLOBAL,
                       "shortlist_votes": thresholds.SHORTLIST_VOTES},
        "second_stage": speed, "seconds": round(time.time() - t0, 1)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
