"""Video matching benchmark (issue 12): clips of reference cells found frame by frame, and
clips of held clips linked, exactly as the product's pipeline decides.

Sources: the real photographs of bench/photo_sources.py, split into calibration and held-out
halves as bench/matching_accuracy_real.py splits them, and rendered rooms (even seeds
calibration, odd held out). Library: every real photograph's and every room's reference
photo (the original still), plus rendered distractor cells. Clips (bench/video_clips.py):
720x1280 portrait, 15 frames a second, H.264 or VP9, 6-8 s, seven kinds made from each
source's still. Each clip goes through `app.video.sample`, and each sampled frame through PNG,
its hashes and a frame's local features (`hashing.frame_features`), the first stage and the
second stage at the thresholds in force (bench/video_frames.py).

1. Cell found: a clip counts as found when a sampled frame links to its source's reference
   (first stage, or verify score at the threshold); a frame linked to any other reference is a
   false link.
2. Clip of a held clip: every source's pan clip (A) is held, its frames as held images (in the
   global-hash index, as evidence images are; the vote index holds the library only). B is
   made from A (trimmed, letterboxed, low bit rate, mirrored, captioned); B is linked to A when
   a frame of B links to a frame of A; a link to a frame of another source's A is a false link
   (every B against every other A: the negative pairs).
3. Speed (bench/video_speed.py): a 15 s 1080x1920 H.264 clip, bytes to all frames matched,
   against a library of synthetic reference photos.

Run: nice -n 15 .venv/bin/python -m bench.video_matching [--quick] [--refs 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench import video_clips as vc
from bench import video_frame_sets as fs
from bench.video_frames import (
    BenchEngine,
    FrameResult,
    analyse,
    clip_results,
    display_picture,
)
from bench.video_report import (
    render,
    summarise_clips,
    summarise_frame_sets,
    summarise_reposts,
)

RESULTS = Path(__file__).resolve().parent / "results"
ROOM_ID0, DISTRACTOR_ID0, HELD_ID0 = 50_000, 100_000, 1_000_000
ROOM_SEED0, FILLER_SEED0 = 500, 70_000  # apart from the distractors' seeds (0, 1, ...)
FILLERS = 4  # unrelated pictures (rooms in no library) before and after a middle_3s cell


@dataclass(frozen=True)
class Item:
    name: str
    split: str  # "calibration" or "held_out"
    ref_id: int
    room_seed: int | None = None  # a rendered room, else a real photograph (its index)


_STATE: dict = {}


def picture(item: Item) -> np.ndarray:
    from bench.matching_accuracy_real import _rgb

    if item.room_seed is None:
        return _rgb(_STATE["sources"][item.ref_id].path)
    return _STATE["rooms"][item.room_seed]


def _room_rgb(seed: int) -> np.ndarray:
    from bench.matching_accuracy import decode, make_scene, photograph, render

    scene = make_scene(seed)
    return decode(photograph(render(scene, scene.camera), np.random.default_rng(seed + 1_000_003)))


def items(every: int, rooms: int) -> tuple[list[Item], list[Item]]:
    """(the sources clips are made from, the sources whose reference is in the library):
    every `every`-th real photograph of each half (in the halves' own order) and `rooms`
    rendered rooms (even seeds calibration, odd held out); the library holds every real
    photograph, as in matching_accuracy_real.py, and those rooms."""
    from bench.matching_accuracy_real import split
    from bench.photo_sources import sources

    found = sources()
    _STATE["sources"] = found
    real = [(k, Item(found[i].name, name, i)) for name, members in split(found).items()
            for k, i in enumerate(members)]
    made = [Item(f"room{ROOM_SEED0 + k}", "calibration" if k % 2 == 0 else "held_out",
                 ROOM_ID0 + k, ROOM_SEED0 + k) for k in range(rooms)]
    return [it for k, it in real if k % every == 0] + made, [it for _, it in real] + made


# ----------------------------------------------------------------------------- the library


def _reference(item_or_seed: Item | int) -> tuple[int, SimpleNamespace, bytes]:
    return _reference_and_picture(item_or_seed)[0]


def _reference_and_picture(item_or_seed: Item | int
                           ) -> tuple[tuple[int, SimpleNamespace, bytes], np.ndarray]:
    """A reference photo as held (id, hashes, features), and its working image as the
    second look reads it (from its display copy)."""
    from PIL import Image

    from bench.real_changes import jpeg

    if isinstance(item_or_seed, int):  # a distractor cell
        rid, rgb = DISTRACTOR_ID0 + item_or_seed, _room_rgb(item_or_seed)
    else:
        rid, rgb = item_or_seed.ref_id, picture(item_or_seed)
    still = jpeg(rgb, 92)  # the original still, as held
    image, features = analyse(still)
    shown = display_picture(Image.open(io.BytesIO(still)).convert("RGB"))
    return (rid, image, features), shown  # type: ignore[return-value]


def build_engine(refs: list, held: list | None = None) -> tuple[BenchEngine, dict[int, bytes]]:
    from app.evidence.hashing import prefilter_descriptors

    engine = BenchEngine()
    ids = np.array([r[0] for r in refs], np.int64)
    engine.hashes.add(ids, [[i.phash, i.phash_mirror, i.phash_trim] for _, i, _ in refs])
    engine.votes.add(ids, np.stack([prefilter_descriptors(f) for _, _, f in refs]))
    blobs = {r[0]: r[2] for r in refs}
    if held:  # held images: in the global-hash index only, as evidence images are
        hid = np.array([h[0] for h in held], np.int64)
        engine.hashes.add(hid, [[i.phash, i.phash_mirror, i.phash_trim] for _, i, _ in held])
        blobs |= {h[0]: h[2] for h in held}
    return engine, blobs


# ----------------------------------------------------------------------------- clips


def _clip_job(job: tuple[int, str]) -> dict:
    k, kind = job
    item = _STATE["items"][k]
    s = vc.spec(item.name, kind)
    filler = _STATE["fillers"][s.seed % FILLERS]
    path = vc.make_clip(s, picture(item), filler)
    frames = clip_results(_STATE["engine"], _STATE["blobs"], path.read_bytes(), path.name)
    return _outcome(item, kind, s.codec, path.name, frames, {item.ref_id})


def _near(f: FrameResult) -> list[int]:
    """The reference photos the frame's own second stage nearly linked (what the match
    worker keeps for the clip pass, MatchEngine.kept_near: clip_look.near_ids)."""
    return [i for i in f.nearly if i < HELD_ID0]


def _true_score(f: FrameResult, true: set[int]) -> int:
    """The frame's best verify score against a true candidate (-1: none shortlisted)."""
    return max((s for i, s in f.scores.items() if i in true), default=-1)


def _outcome(item: Item, kind: str, codec: str, clip: str, frames: list[FrameResult],
             true: set[int], held: set[int] | None = None) -> dict:
    """What one clip's frames linked to; `true`: the ids whose link counts as a hit;
    `held`: only links to these count as false (reposts: the held clips' frames)."""
    def other(i: int) -> bool:
        return i not in true and (held is None or i in held)

    linked = {i for f in frames for i in f.linked}
    blobs, limits = _STATE["blobs"], _STATE["engine"].limits
    # the clip pass as the product runs it, over reference photos (with its second look);
    # over held frames it is measured only (the negative pairs' frame-set scores), never a link
    began = time.process_time()
    weighed = fs.weighed(frames, blobs, [[i for i in f.scores if i < HELD_ID0] for f in frames],
                         linked, limits.verify_min_score, limits.second_look_from,
                         [_near(f) for f in frames], _frame_pictures(frames),
                         _STATE["pictures"].get)
    pass_cpu = time.process_time() - began
    refs, passed = fs.scores(weighed), fs.links(weighed)
    sets = refs | ({} if held is None else fs.scores(fs.weighed(
        frames, blobs, [[i for i in f.scores if i in held] for f in frames], linked,
        limits.verify_min_score, limits.second_look_from)))
    by_frame = any(i in true for i in linked)
    return {"name": item.name, "split": item.split, "kind": kind, "codec": codec,
            "clip": clip, "frames": len(frames),
            "found": by_frame or any(i in true for i in passed),
            "by_first_stage": any(i in true for f in frames for i in f.near),
            "by_clip_pass": not by_frame and any(i in true for i in passed),
            "clip_pass": sorted(passed.items()),
            "looked": [i for i, w in weighed.items() if w.looked],
            "clip_pass_cpu": round(pass_cpu, 3),
            "false_links": [(round(f.t, 2), i, f.scores.get(i, -1)) for f in frames
                            for i in f.linked if other(i)]
            + [("clip pass", i, refs[i][:2]) for i in passed if other(i)],
            "best_true": max((_true_score(f, true) for f in frames), default=-1),
            "best_false": max((s for f in frames for i, s in f.scores.items() if other(i)),
                              default=0),
            "frame_set_true": max((fs.second(v) for i, v in sets.items() if i in true),
                                  default=0),
            "frame_set_false": max((fs.second(v) for i, v in sets.items() if other(i)),
                                   default=0),
            "frame_detail": [{"t": round(f.t, 2), "reason": f.reason, "size": f.size,
                              "first_stage": any(i in true for i in f.near),
                              "true_score": _true_score(f, true)} for f in frames],
            "held": [(f.image, f.features) for f in frames] if kind == "pan" else []}


def _frame_pictures(frames: list[FrameResult]) -> object:
    """frame index -> the working image of its display copy (made when first asked)."""
    made: dict[int, object] = {}

    def frame(k: int, _mirrored: bool) -> object:
        if k not in made:
            made[k] = display_picture(frames[k].frame)
        return made[k]

    return frame


def _repost_job(job: tuple[int, str]) -> dict:
    k, kind = job
    item = _STATE["items"][k]
    a = _STATE["held_clips"][k]
    seed = vc.seed_of(item.name, "repost", kind)
    path = vc.make_repost(a, kind, item.name, seed)
    frames = clip_results(_STATE["engine"], _STATE["blobs"], path.read_bytes(), path.name)
    mine = set(_STATE["held_of"][k])
    codec = {".mp4": "h264", ".webm": "vp9"}[path.suffix]
    out = _outcome(item, kind, codec, path.name, frames, mine, held=_STATE["held_ids"])
    out.pop("held")
    passed = [i for i, _ in out["clip_pass"]]
    out["linked_reference"] = any(item.ref_id in f.linked for f in frames) or (
        item.ref_id in passed)
    out["false_reference_links"] = [(f.t, i) for f in frames for i in f.linked
                                    if i < HELD_ID0 and i != item.ref_id] + [
        ("clip pass", i) for i in passed if i != item.ref_id]
    return out


def _init(state: dict) -> None:
    _STATE.update(state)


def pmap(fn: object, jobs: list, workers: int) -> list:
    if workers <= 1:
        return [fn(j) for j in jobs]  # type: ignore[operator]
    ctx = multiprocessing.get_context("fork")  # workers share the library read-only
    with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
        return list(ex.map(fn, jobs, chunksize=2))  # type: ignore[arg-type]


SIZES = {"quick": (4, 4, 30), "default": (2, 6, 60), "all": (1, 12, 60)}  # every, rooms, cells


def run(its: list[Item], library: list[Item], distractors: int, workers: int) -> dict:
    """Both accuracy parts: clips of `its`, the references of `library` and `distractors`
    rendered cells in the library; returns their outcomes."""
    t0 = time.time()
    _STATE["rooms"] = {it.room_seed: _room_rgb(it.room_seed) for it in its if it.room_seed}
    _STATE["fillers"] = [_room_rgb(FILLER_SEED0 + k) for k in range(FILLERS)]
    _STATE["items"] = its
    both = pmap(_reference_and_picture, list(library) + list(range(distractors)), workers)
    refs = [r for r, _ in both]
    _STATE["pictures"] = {r[0]: shown for r, shown in both}
    _STATE["engine"], _STATE["blobs"] = build_engine(refs)
    print(f"library: {len(refs)} reference photos ({time.time() - t0:.0f} s)", flush=True)
    jobs = [(k, kind) for k in range(len(its)) for kind in vc.CLIP_KINDS]
    clips = pmap(_clip_job, jobs, workers)
    print(f"{len(clips)} clips matched ({time.time() - t0:.0f} s)", flush=True)
    # the pan clips held: their frames become held images
    held, held_of, held_clips = [], {}, {}
    for (k, kind), c in zip(jobs, clips, strict=True):
        if kind != "pan":
            continue
        ids = [HELD_ID0 + len(held) + j for j in range(len(c["held"]))]
        held += [(i, im, f) for i, (im, f) in zip(ids, c["held"], strict=True)]
        held_of[k] = ids
        held_clips[k] = vc.cache_dir() / "video" / f"clips-{vc.VERSION}" / c["clip"]
    for c in clips:
        c.pop("held")
    _STATE["engine"], _STATE["blobs"] = build_engine(refs, held)
    _STATE.update(held_of=held_of, held_clips=held_clips, held_ids={i for i, _, _ in held})
    rjobs = [(k, kind) for k in range(len(its)) for kind in vc.REPOST_KINDS]
    reposts = pmap(_repost_job, rjobs, workers)
    print(f"{len(reposts)} clips of held clips matched ({time.time() - t0:.0f} s)", flush=True)
    return {"refs": refs, "clips": clips, "reposts": reposts, "held": len(held),
            "held_clips": len(held_of)}


def main() -> None:
    from app.evidence.hashing import FRAME_PORTRAIT_SIDE
    from app.matching import thresholds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="every fourth real photograph of each half, 4 rooms, 30 distractors")
    size.add_argument("--all", action="store_true",
                      help="every real photograph, 12 rooms, 60 distractors (default: every "
                           "second one, 6 rooms, 60 distractors)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--refs", type=int, default=100_000,
                    help="library size of the speed part (0: skip it)")
    ap.add_argument("--runs", type=int, default=5, help="speed runs (medians)")
    args = ap.parse_args()
    t0 = time.time()
    label = "quick" if args.quick else "all" if args.all else "default"
    every, rooms, distractors = SIZES[label]
    its, library = items(every, rooms)
    got = run(its, library, distractors, args.workers)
    speed = None
    if args.refs:
        from bench.video_speed import measure

        pool = [f for rid, _, f in got["refs"] if rid >= DISTRACTOR_ID0]
        speed = measure(args.refs, args.runs, pool)
    clips, reposts = got["clips"], got["reposts"]
    flag = ("" if label == "default" else f" --{label}") + (
        "" if args.refs == ap.get_default("refs") else f" --refs {args.refs}")
    result = {
        "command": f"nice -n 15 .venv/bin/python -m bench.video_matching{flag}",
        "seconds": round(time.time() - t0), "workers": args.workers,
        "load_average": os.getloadavg()[0],
        "sources": {"real": sum(it.room_seed is None for it in its), "rooms": rooms},
        "library": {"references": len(got["refs"]), "distractors": distractors},
        "held_frames": got["held"],
        "thresholds": {"global": thresholds.GLOBAL_MAX_DISTANCE,
                       "verify": thresholds.VERIFY_MIN_SCORE,
                       "frame_side": FRAME_PORTRAIT_SIDE},
        "clips": summarise_clips(clips),
        "reposts": summarise_reposts(reposts, got["held_clips"]),
        "frame_sets": summarise_frame_sets(clips, reposts),
        "speed": speed,
        "misses": [c for c in clips + reposts if not c["found"]],
        "false": [c for c in clips + reposts if c["false_links"]
                  or c.get("false_reference_links")],
    }
    RESULTS.mkdir(exist_ok=True)
    name = "video_matching" + ("" if label == "default" else f"_{label}")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    text = render(result)  # from what was just written: a run is never lost to its report
    print(text)
    (RESULTS / f"{name}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
