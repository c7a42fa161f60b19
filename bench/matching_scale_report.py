"""The Markdown report of bench/matching_scale.py (its figures, per upload, in the JSON)."""

from __future__ import annotations

from typing import Any

from bench.scale_support import summary

KINDS = ("repost", "other_viewpoint", "second_photograph", "captioned_repost")
VARIANTS = (("with", "with the second look (rolled back)"),
            ("without", "without it (limit 0, rolled back)"),
            ("committed", "with the look, committed (as the worker runs it)"))


def _ok(value: float, target: float) -> str:
    return "ok" if value <= target else "FAIL"


def _pair(rows: list[dict], variant: str, key: str) -> str:
    s = summary([r[variant][key] for r in rows])
    return f"{s['p50']:.0f} / {s['p95']:.0f}" if s["n"] else "-"


def second_stage(rows: list[dict]) -> list[str]:
    """Wall and CPU p50 / p95 per variant, all uploads and those that ran a look."""
    looked = [r for r in rows if r["with"]["looks"]]
    out = ["| second stage, per upload | all uploads: wall p50 / p95 | CPU p50 / p95 | "
           f"the {len(looked)} that ran a look: wall p50 / p95 | CPU p50 / p95 |",
           "|---|---|---|---|---|"]
    for variant, label in VARIANTS:
        out.append(f"| {label} | {_pair(rows, variant, 'ms')} ms | "
                   f"{_pair(rows, variant, 'cpu_ms')} ms | {_pair(looked, variant, 'ms')} ms | "
                   f"{_pair(looked, variant, 'cpu_ms')} ms |")
    return out


def accuracy(rows: list[dict]) -> list[str]:
    """Per kind of upload: how many ran a look, true cell linked with / without, false links."""
    out = ["| uploads | n | ran a look | true cell linked, with the look | without | "
           "false links, with / without |", "|---|---|---|---|---|---|"]
    for kind in KINDS + ("ran a look",):
        sel = ([r for r in rows if r["with"]["looks"]] if kind == "ran a look"
               else [r for r in rows if r["kind"] == kind])
        if not sel:
            continue
        out.append(f"| {kind} | {len(sel)} | {sum(bool(r['with']['looks']) for r in sel)} | "
                   f"{sum(r['with']['true'] for r in sel)} | "
                   f"{sum(r['without']['true'] for r in sel)} | "
                   f"{sum(len(r['with']['false']) for r in sel)} / "
                   f"{sum(len(r['without']['false']) for r in sel)} |")
    return out


def report(res: dict[str, Any]) -> str:
    web, match, rec = res["web"], res["match"], res["recall"]
    rows = match["uploads"]
    with_ = summary([r["with"]["ms"] for r in rows])
    cpu = summary([r["with"]["cpu_ms"] for r in rows])
    without = summary([r["without"]["ms"] for r in rows])
    looks = [r["with"] for r in rows if r["with"]["looks"]]
    look_ms, look_cpu = summary([r["look_ms"] for r in looks]), summary(
        [r["look_cpu_ms"] for r in looks])
    table = [
        ("second stage p95, with the second look (shortlist + verification + look + store)",
         "<= 300 ms", f"{with_['p95']:.0f} ms (p50 {with_['p50']:.0f}; CPU p95 "
         f"{cpu['p95']:.0f}, p50 {cpu['p50']:.0f})", _ok(with_["p95"], 300)),
        ("second stage p95, without the second look", "", f"{without['p95']:.0f} ms "
         f"(p50 {without['p50']:.0f})", ""),
        ("first stage: near-duplicate query p50 / p95", "",
         f"{web['near_ms']['p50']:.1f} / {web['near_ms']['p95']:.1f} ms", ""),
        ("first stage: service.first_stage p50 / p95", "p50 < 100 ms",
         f"{web['first_stage_ms']['p50']:.1f} / {web['first_stage_ms']['p95']:.1f} ms",
         _ok(web["first_stage_ms"]["p50"], 99.999)),
        ("web worker RSS after building its index", "<= 400 MB", f"{web['rss_mb']} MB "
         f"(index {web['rss_index_mb']} MB)", _ok(web["rss_mb"], 400)),
        ("match worker RSS after building its indexes", "<= 2.5 GB", f"{match['rss_mb']} MB "
         f"(indexes {match['rss_index_mb']} MB)", _ok(match["rss_mb"], 2560)),
        ("web worker start-up (index built from the database)", "<= 60 s",
         f"{web['build_s']} s", _ok(web["build_s"], 60)),
        (f"match worker start-up, first run of this benchmark "
         f"({match['feature_blobs_read']:,} feature blobs read"
         f"{', then kept' if match['feature_blobs_read'] else ': kept index loaded'})",
         "", f"{match['build_s']} s", ""),
        ("match worker start-up, kept index loaded and checked", "<= 60 s",
         f"{res['match_restart']['build_s']} s (RSS {res['match_restart']['rss_mb']} MB)",
         _ok(res["match_restart"]["build_s"], 60)),
    ]
    lines = [f"# Matching at scale: {res['refs']:,} reference photos, {res['images']:,} images "
             "(SQLite)", "", f"Load average at the end of the run: {res.get('load', '?')} "
             "(2 cores, shared). Wall times include the neighbours' load; CPU is the match "
             "worker process's own (`time.process_time`).", "",
             f"Library: {res['refs'] - res['real']:,} synthetic reference photos (random "
             f"descriptors, no picture) and {res['real']} with real stored pictures (20 "
             "scenes, 280 distractors). Uploads (round "
             f"{res['round']}): {len(rows)}, each scene's repost, other viewpoint and second "
             "photograph, and 10 captioned reposts.", "",
             "| what | target | measured | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table]
    lines += ["", "## Second stage with and without the second look", ""]
    lines += second_stage(rows)
    lines += ["", f"One look (the pictures read and decoded, SIFT of both, verification), "
              f"{len(looks)} uploads: wall p50 {look_ms.get('p50', 0):.0f} / p95 "
              f"{look_ms.get('p95', 0):.0f} ms, CPU p50 {look_cpu.get('p50', 0):.0f} / p95 "
              f"{look_cpu.get('p95', 0):.0f} ms.", "", "## Accuracy of the uploads", ""]
    lines += accuracy(rows)
    lines += ["", f"Descriptor index: {match['votes']:,} photos, {match['lists']} lists; kept "
              f"files {match['kept']}.", "",
              f"Shortlist recall, top 8 of {rec['library']:,} photos, {rec['queries']} queries: "
              f"exact scan {rec['exact']} (first {rec['exact_first']}), approximate index "
              f"{rec['ann']} (first {rec['ann_first']}); query p50 exact "
              f"{rec['exact_ms']['p50']:.0f} ms, approximate {rec['ann_ms']['p50']:.1f} ms.", ""]
    return "\n".join(lines)
