"""Tables of bench/video_matching.py: per kind of clip and half, per repost, and the speed."""

from __future__ import annotations

import statistics

FOUND_TARGET, REPOST_TARGET = 0.95, 0.97
HALVES = ("held_out", "calibration")


def _row(got: list[dict]) -> dict:
    scored = [c["best_true"] for c in got if not c["by_first_stage"]]
    return {"clips": len(got), "found": sum(c["found"] for c in got) / len(got),
            "false_links": sum(len(c["false_links"]) for c in got),
            "frames_per_clip": statistics.mean(c["frames"] for c in got),
            "by_first_stage": sum(c["by_first_stage"] for c in got),
            "by_clip_pass": sum(c.get("by_clip_pass", False) for c in got),
            "best_false_score": max(c["best_false"] for c in got),
            "worst_true_score": min(scored) if scored else None,
            "missed": [c["clip"] for c in got if not c["found"]]}


def summarise_clips(clips: list[dict]) -> dict:
    out: dict = {}
    for half in HALVES:
        mine = [c for c in clips if c["split"] == half]
        kinds = dict.fromkeys(c["kind"] for c in mine)
        out[half] = {k: _row([c for c in mine if c["kind"] == k]) for k in kinds}
        out[half]["all kinds"] = _row(mine)
        for codec in ("h264", "vp9"):
            out[half][f"all, {codec}"] = _row([c for c in mine if c["codec"] == codec])
    return out


def summarise_reposts(reposts: list[dict], held_clips: int) -> dict:
    out: dict = {}
    for half in HALVES:
        mine = [c for c in reposts if c["split"] == half]
        kinds = dict.fromkeys(c["kind"] for c in mine)
        out[half] = {k: _row([c for c in mine if c["kind"] == k]) for k in kinds}
        out[half]["all"] = _row(mine)
        out[half]["all"]["negative_pairs"] = len(mine) * (held_clips - 1)
        out[half]["all"]["false_reference_links"] = sum(
            len(c["false_reference_links"]) for c in mine)
        out[half]["all"]["source_reference_linked"] = sum(
            c["linked_reference"] for c in mine) / len(mine)
    return out


def _table(rows: dict, target: float, what: str) -> list[str]:
    lines = [f"| {what} | clips | found | ok | false links | frames per clip | by first "
             "stage | only by the clip pass | worst true score | best false score |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, r in rows.items():
        ok = "ok" if r["found"] >= target and r["false_links"] == 0 else "FAIL"
        lines.append(f"| {kind} | {r['clips']} | {r['found']:.1%} | {ok} | {r['false_links']} "
                     f"| {r['frames_per_clip']:.1f} | {r['by_first_stage']} | "
                     f"{r['by_clip_pass']} | "
                     f"{r['worst_true_score']} | {r['best_false_score']} |")
    return lines


def _speed(s: dict) -> list[str]:
    wall, cpu = s["median_s"], s["median_cpu_s"]
    ok = "ok" if wall["total"] <= s["target_s"] else "FAIL"
    ok_cpu = "ok" if cpu["total"] <= s["target_s"] else "FAIL"
    rows = [("`sample` (sandboxed child: decode, selection, frames back; CPU: the child's "
             "own, all its threads; the preview is made after the matching)", "sample"),
            ("poster", "poster"),
            (f"every frame's PNG, display copy, hashes and features from its pixels "
             f"({s['frames']} frames, `derive_frames` on the 2 decode threads)", "frames"),
            ("first stage of every frame", "first_stage"),
            ("second stage of every frame: shortlist", "shortlist"),
            ("second stage of every frame: verification", "verification"),
            ("clip pass (each frame's short list as its second stage kept it, its "
             "candidates verified on every frame)", "clip_pass")]
    return [
        f"### Speed: a 15 s 1080x1920 H.264 clip to every frame matched, "
        f"{s['references']:,} reference photos", "",
        f"{s['clip']}. Library: {s['references']:,} reference photos in the product's "
        f"MatchEngine ({s['library']}); built in {s['build_s']:.0f} s. One process, medians "
        f"of {s['runs']} runs (totals {s['runs_s']} s), load average {s['load_average']:.1f} "
        "at the start: wall time on this shared machine measures the neighbours too, CPU time "
        "what the work itself costs.", "",
        "| part | wall, median | CPU, median |", "|---|---|---|",
        *[f"| {label} | {wall[k]:.2f} s | {cpu[k]:.2f} s |" for label, k in rows
          if k in wall],
        f"| **total** (target <= {s['target_s']:.0f} s) | **{wall['total']:.2f} s** ({ok}) | "
        f"**{cpu['total']:.2f} s** ({ok_cpu}) |", "",
        f"Source reference linked in every run: {s['found_every_run']}.",
    ]


def summarise_frame_sets(clips: list[dict], reposts: list[dict]) -> dict:
    """Per half: the clip pass's frame-set scores (second-best frame) of the true and of the
    wrong candidates, on the clips of references and the clips of held clips."""
    out: dict = {}
    for what, got in (("of references", clips), ("of held clips", reposts)):
        for half in HALVES:
            mine = [c for c in got if c["split"] == half]
            out[f"{what}, {half}"] = {
                "clips": len(mine),
                "by_clip_pass": sum(c.get("by_clip_pass", False) for c in mine),
                "frame_set_links": sum(m == "frame_set" for c in mine
                                       for _, m in c.get("clip_pass", [])),
                "best_false": max((c["frame_set_false"] for c in mine), default=0),
                "looks": sum(bool(c.get("looked")) for c in mine),
                "cpu": _cpu([c["clip_pass_cpu"] for c in mine if "clip_pass_cpu" in c]),
                "cpu_looked": _cpu([c["clip_pass_cpu"] for c in mine
                                    if c.get("looked") and "clip_pass_cpu" in c])}
    return out


def _cpu(seconds: list[float]) -> str:
    """Median and largest CPU seconds (one figure a clip)."""
    if not seconds:
        return "-"
    ranked = sorted(seconds)
    return f"{ranked[len(ranked) // 2]:.2f} / {ranked[-1]:.2f} s"


def _frame_sets(f: dict) -> list[str]:
    lines = [
        "### The clip pass: a clip's frames together", "",
        "After every frame's own second stage, the reference photos that at least 2 frames "
        "short-listed (the 4 most often, none already linked), and those one frame's own "
        "second stage nearly linked (scored 8 or more, or its votes put first or second) that "
        "this frame scores 8 or more in either orientation, are verified against "
        "every frame, both orientations; the one ORB nearly links gets SIFT on its 3 best "
        "frames (app/matching/frame_sets.py, clip_look.py; bench/video_frame_sets.py "
        "replays it): linked as `features` when a frame reaches the photo threshold, as "
        "`frame_set` when two frames each reach FRAME_SET_MIN_SCORE. A candidate's frame-set "
        "score is its second-best frame's; `best false`: the highest of a wrong candidate "
        "(clips of held clips: the same pass over the held frames, measured only, against "
        "every other source's A: the negative pairs). CPU: the pass's verification and look "
        "a clip (its short lists and near scores are the frames' own here), median / largest, and "
        "of the clips it looked at again.", "",
        "| clips | clips | found only by the pass | `frame_set` links | best false frame-set "
        "score | second looks | CPU a clip | CPU, looked |", "|---|---|---|---|---|---|---|---|"]
    for name, r in f.items():
        lines.append(f"| {name} | {r['clips']} | {r['by_clip_pass']} | "
                     f"{r['frame_set_links']} | {r['best_false']} | {r.get('looks', '-')} | "
                     f"{r.get('cpu', '-')} | {r.get('cpu_looked', '-')} |")
    return lines


def render(res: dict) -> str:
    th = res["thresholds"]
    lines = [
        "# Video matching", "",
        f"Command: `{res['command']}` ({res['seconds']} s, {res['workers']} workers, load "
        f"average {res['load_average']:.1f} at the end). Sources: {res['sources']['real']} "
        f"real photographs (bench/photo_sources.py, halves as in matching_accuracy_real.py) "
        f"and {res['sources']['rooms']} rendered rooms; library: "
        f"{res['library']['references']} reference photos (every real photograph's, the "
        f"rooms', and {res['library']['distractors']} rendered distractor cells). Clips: "
        "720x1280 portrait, 15 frames a second, 6-8 s "
        "(middle_3s: 9 s), H.264 or VP9 at 2 Mbit/s (low_bitrate: 300 kbit/s), made in the "
        "bench from each source's still (bench/video_clips.py). Every frame `app.video.sample` "
        "hands back is analysed as stored (lossless PNG; hashes as intake computes them, "
        "local features as a frame's second stage does: a portrait frame at long side "
        f"{th.get('frame_side', 512)}, `hashing.frame_features`) and matched at "
        f"the thresholds in force (global distance <= {th['global']}, verify score >= "
        f"{th['verify']}).", "",
        "A clip is found when a sampled frame links to its source's reference photo (first "
        "stage, or verify score at the threshold) or the clip pass links it (see below; "
        "`only by the clip pass`: clips no frame's own stages found); a false link is a frame "
        "or a clip pass linked to any other reference. `worst true score`: the lowest, over "
        "clips not linked by the first stage, "
        "of a clip's best verify score against its reference (-1: never shortlisted); "
        "`best false score`: the highest verify score of any wrong candidate.", "",
    ]
    for half in HALVES:
        title = "Held-out half (the figures that count)" if half == "held_out" else \
            "Calibration half"
        lines += [f"### Cell found: {title}", "",
                  *_table(res["clips"][half], FOUND_TARGET, "kind of clip"), ""]
    lines += [
        "### Clip of a held clip", "",
        f"Every source's pan clip (A) held: {res['held_frames']} frames as held images (global "
        "hashes; the vote index holds the library only, as in the product). B is made from "
        "A's file: trim (30-70% of it), letterbox (into a 1280x720 landscape frame), "
        "low_bitrate (300 kbit/s), mirror, caption. Found: a frame of B links to a frame of "
        "A. False links: a frame of B linked to a frame of another source's A (every B "
        "against every other A: the negative pairs).", ""]
    for half in HALVES:
        rows = res["reposts"][half]
        lines += [f"{half.replace('_', '-')} half:", "",
                  *_table(rows, REPOST_TARGET, "clip B"), "",
                  f"Negative pairs: {rows['all']['negative_pairs']}, linked: "
                  f"{rows['all']['false_links']} frame links. B's frames linked to their "
                  f"source's reference photo: {rows['all']['source_reference_linked']:.1%} of "
                  f"clips; to another reference: {rows['all']['false_reference_links']}.", ""]
    if res.get("frame_sets"):
        lines += _frame_sets(res["frame_sets"]) + [""]
    if res["speed"]:
        lines += _speed(res["speed"]) + [""]
    misses = res["misses"]
    lines += [f"### Misses ({len(misses)})", ""]
    for c in misses:
        detail = ", ".join(f"{f['t']}s {f['size'][0]}x{f['size'][1]} "
                           f"{'near' if f['first_stage'] else f['true_score']}"
                           for f in c["frame_detail"])
        lines.append(f"- {c['split']} {c['kind']} `{c['clip']}`: frames (time, size, best "
                     f"true score): {detail}")
    lines += ["", f"### False links ({len(res['false'])} clips)", ""]
    for c in res["false"]:
        lines.append(f"- {c['split']} {c['kind']} `{c['clip']}`: {c['false_links']} "
                     f"{c.get('false_reference_links', '')}")
    return "\n".join(lines)
