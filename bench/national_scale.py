"""Search, dossier and triage queue on a synthetic national-size estate, SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.national_scale [--db sqlite|postgres|both] [--requests 200]
                                              [--scale 1.0] [--workdir DIR] [--reuse]
Targets (issue): prison-number lookup and surname search p95 <= 50 ms, dossier page p95
<= 250 ms, triage queue first page p95 <= 150 ms, on SQLite and on PostgreSQL.

The data (bench/national_data.py): 125 establishments, 62,500 cells, 90,000 prisoners with
~4 stays each, 100,000 accounts, 1,025,000 images (10 per account + 25,000 reference
photos), attributions for 20% of accounts, takedowns with notices, cell searches.
The app is the real one: uvicorn (one worker) in a child process, signed in through the login
form as an analyst (session cookie), pages requested with httpx one at a time. Every search
and dossier request writes its audit event (hash chain) and commits, as in production.
SQLite is measured as the app leaves it (no ANALYZE: the app never runs it); PostgreSQL after
VACUUM ANALYZE (what autovacuum reaches shortly after a bulk load).
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx

from bench import sql_profile
from bench.national_data import OPEN, Estate, load
from bench.scale_support import (
    app_server,
    fresh_postgres,
    fresh_sqlite,
    login,
    postgres_server,
    sqlite_url,
    summary,
    timed,
    write_results,
)

TARGETS_MS = {"prison_number": 50, "surname": 50, "dossier": 250, "dossier_busiest": 250,
              "queue": 150, "review": 250}
PURPOSE = "Investigating an account posting from a cell (case 2026/114)"


def sample_requests(e: Estate, n: int, seed: int = 5) -> dict[str, list[str]]:
    """Varied inputs for each measured page (deterministic)."""
    rng = random.Random(seed)
    prisoners = e.prisoners
    by_surname = Counter(p[2] for p in prisoners)
    common = [s for s, _ in by_surname.most_common(20)]
    reqs: dict[str, list[str]] = {"prison_number": [], "surname": [], "dossier": [],
                                  "dossier_busiest": [], "queue": [], "review": []}
    for p in rng.sample(prisoners, n):
        number = p[1] if rng.random() < 0.8 else p[1].lower()  # typed in lower case
        reqs["prison_number"].append(f"/search?prison_number={number}")
    for i in range(n):
        p = prisoners[rng.randrange(len(prisoners))]
        first = p[3].split()[0]
        kind = i % 20
        if kind < 10:  # a prisoner's surname and first forename, as read off a record
            q = f"surname={quote(p[2])}&forename={quote(first)}"
        elif kind < 15:  # a common surname and the start of a forename
            q = f"surname={quote(rng.choice(common))}&forename={quote(first[:2])}"
        elif kind < 18:  # the start of a surname and a forename
            q = f"surname={quote(p[2][:3].lower())}&forename={quote(first.lower())}"
        else:  # surname and date of birth
            q = f"surname={quote(p[2])}&dob={p[6].isoformat()}"
        reqs["surname"].append(f"/search?{q}")
    attributed = sorted({pid for pid in e.attributed.values()})
    for i in range(n):
        pid = rng.choice(attributed) if i % 2 == 0 else rng.randrange(1, len(prisoners) + 1)
        reqs["dossier"].append(f"/search/prisoners/{prisoners[pid - 1][1]}"
                               f"?purpose={quote(PURPOSE)}")
    busiest = [pid for pid, _ in Counter(e.attributed.values()).most_common(10)]
    reqs["dossier_busiest"] = [f"/search/prisoners/{prisoners[busiest[i % 10] - 1][1]}"
                               f"?purpose={quote(PURPOSE)}" for i in range(max(20, n // 10))]
    platforms = ["instagram", "tiktok", "snapchat", "facebook", "x"]
    for i in range(n):
        kind = i % 20
        if kind < 8:
            q = ""
        elif kind < 12:
            q = f"?establishment={rng.choice(e.codes)}"
        elif kind < 15:
            q = f"?platform={rng.choice(platforms)}"
        elif kind < 18:
            q = f"?status={rng.choice(sorted(OPEN))}"
        else:
            q = f"?assignee={rng.choice(['me', 'none'])}"
        reqs["queue"].append(f"/accounts{q}")
    for i in range(n):  # the review queue: every pending match ranked, one page shown
        kind = i % 10
        q = ["", "", "", "", "?kind=cell", "?kind=image", "?method=near", "?page=3",
             f"?establishment={rng.choice(e.codes)}", "?age=older"][kind]
        reqs["review"].append(f"/review{q}")
    return reqs


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _send(client: httpx.Client, path: str, token: str) -> httpx.Response:
    """Search terms and purposes are posted, never put in a URL: a search or dossier written
    here as a URL (for the record) is sent as the form it stands for."""
    base, _, query = path.partition("?")
    if base.startswith("/search") and query:
        return client.post(base, data={**dict(parse_qsl(query)), "csrf_token": token})
    return client.get(path)


def measure(base_url: str, reqs: dict[str, list[str]], warmup: int = 10) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as client:
        login(client, "bench-analyst")
        token = _CSRF.search(client.get("/search").text)
        assert token, "the search page has no CSRF token"
        for name, paths in reqs.items():
            for path in paths[-warmup:]:  # warm the server's caches and the database's pages
                timed(lambda p=path: _send(client, p, token.group(1)))
            samples = []
            for path in paths:
                ms, _ = timed(lambda p=path: _send(client, p, token.group(1)))
                samples.append(ms)
            out[name] = summary(samples)
            if name == "dossier":  # attributed prisoners (even requests) vs any prisoner (odd)
                out["dossier_attributed"] = summary(samples[0::2])
                out["dossier_any"] = summary(samples[1::2])
            if name == "queue":
                out["queue_unfiltered"] = summary(
                    [ms for ms, p in zip(samples, paths, strict=True) if p == "/accounts"])
                out["queue_filtered"] = summary(
                    [ms for ms, p in zip(samples, paths, strict=True) if p != "/accounts"])
            print(f"    {name}: {out[name]}")
    return out


def describe_data(e: Estate) -> dict[str, Any]:
    surnames = Counter(p[2] for p in e.prisoners)
    per_prisoner = Counter(e.attributed.values())
    top = surnames.most_common(3)
    return {
        "establishments": len(e.establishments), "cells": len(e.cells),
        "prisoners": len(e.prisoners), "stays": len(e.stays), "aliases": len(e.aliases),
        "distinct_surnames": len(surnames), "top_surnames": top,
        "accounts": e.n_accounts, "images": e.n_accounts * e.images_per + e.n_refs,
        "attributed_accounts": len(e.attributed),
        "prisoners_with_attributions": len(per_prisoner),
        "max_accounts_per_prisoner": max(per_prisoner.values()) if per_prisoner else 0,
        "open_accounts": sum(1 for s in e.acc_status if s in OPEN),
    }


def report(res: dict) -> str:
    d = res["data"]
    lines = [
        "# National scale: search, dossier, triage queue", "",
        f"Data: {d['establishments']} establishments, {d['cells']:,} cells, "
        f"{d['prisoners']:,} prisoners ({d['stays']:,} stays, {d['aliases']:,} aliases, "
        f"{d['distinct_surnames']:,} surnames; commonest {d['top_surnames'][0][0]} x"
        f"{d['top_surnames'][0][1]}), {d['accounts']:,} accounts ({d['open_accounts']:,} open), "
        f"{d['images']:,} images, {d['attributed_accounts']:,} attributed accounts on "
        f"{d['prisoners_with_attributions']:,} prisoners (max {d['max_accounts_per_prisoner']}"
        " per prisoner).", "",
        f"{res['requests']} requests per page, one at a time, uvicorn (1 worker) + httpx with a "
        "session cookie; each search/dossier request writes and commits its audit event. "
        "2-core machine shared with other work: read p50 and p95.", "",
        "| page | target p95 | " + " | ".join(f"{k} p50 | {k} p95" for k in res["databases"])
        + " |",
        "|---|---|" + "---|---|" * len(res["databases"]),
    ]
    names = [("prison_number", "prison-number lookup `GET /search?prison_number=`"),
             ("surname", "surname search `GET /search?surname=&forename=`"),
             ("dossier", "dossier `GET /search/prisoners/{pn}?purpose=`"),
             ("dossier_attributed", "  of which: prisoners with attributed accounts"),
             ("dossier_any", "  of which: any prisoner"),
             ("dossier_busiest", "dossier of the 10 prisoners with most accounts (extra run)"),
             ("queue", "triage queue first page `GET /accounts`"),
             ("queue_unfiltered", "  of which: no filter (40%)"),
             ("queue_filtered", "  of which: establishment/platform/status/assignee filter"),
             ("review", "review queue `GET /review` (every pending match ranked; 40% "
                        "filtered or a later page)")]
    for key, label in names:
        target = TARGETS_MS.get(key)
        cells = []
        for r in res["databases"].values():
            s = r["pages"][key]
            ok = "" if target is None else (" ok" if s["p95"] <= target else " **FAIL**")
            cells.append(f"{s['p50']:.1f} ms | {s['p95']:.1f} ms{ok}")
        lines.append(f"| {label} | {f'{target} ms' if target else ''} | "
                     + " | ".join(cells) + " |")
    lines += ["", "| database | data load | server start to ready (incl. index of "
              "1,025,000 hashes) | server RSS |", "|---|---|---|---|"]
    for name, r in res["databases"].items():
        lines.append(f"| {name} | {r['load']['total_s']:.0f} s | {r['server_ready_s']:.1f} s | "
                     f"{r['server_rss_mb']:.0f} MB |")
    profiles = {k: r["profile"] for k, r in res["databases"].items() if r.get("profile")}
    if profiles:
        lines += ["", "## Where the time goes", sql_profile.render(profiles)]
    return "\n".join(lines) + "\n"


def run_one(kind: str, url: str, e: Estate, reqs: dict, workdir: Path, reuse: bool,
            profile_n: int) -> dict:
    out: dict[str, Any] = {}
    if reuse:
        out["load"] = {"total_s": 0, "reused": True}
    else:
        print(f"  loading {kind} ...")
        out["load"] = load(url, e)
        print(f"  loaded in {out['load']['total_s']} s")
    with app_server(url, workdir / f"data-{kind}") as server:
        out["server_ready_s"] = round(server.ready_s, 2)
        out["pages"] = measure(server.base_url, reqs)
        out["server_rss_mb"] = round(server.rss_mb(), 1)
    if profile_n:
        print("  profiling (in-process, SQL timed) ...")
        out["profile"] = sql_profile.profile(url, workdir / f"data-{kind}", reqs, profile_n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the national size")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cellwatch-bench-national"))
    ap.add_argument("--profile", type=int, default=30,
                    help="requests per page for the SQL breakdown (0: skip)")
    ap.add_argument("--reuse", action="store_true",
                    help="SQLite only: measure the database left by an earlier run")
    args = ap.parse_args()
    t = time.perf_counter()
    s = args.scale
    e = Estate(prisoners=int(90_000 * s), accounts=int(100_000 * s),
               references=int(25_000 * s), establishments=max(5, int(125 * min(1, s * 4))))
    e.accounts_plan()
    print(f"estate planned in {time.perf_counter() - t:.1f} s")
    reqs = sample_requests(e, args.requests)
    res: dict[str, Any] = {"requests": args.requests, "scale": s, "data": describe_data(e),
                           "databases": {}}
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        print(kind)
        if kind == "sqlite":
            path = args.workdir / "national.db"
            reuse = args.reuse and path.exists()
            url = sqlite_url(path) if reuse else fresh_sqlite(path)
            res["databases"][kind] = run_one(kind, url, e, reqs, args.workdir, reuse,
                                             args.profile)
        else:
            with postgres_server() as server:
                url = fresh_postgres(server, "cellwatch_bench_national")
                res["databases"][kind] = run_one(kind, url, e, reqs, args.workdir, False,
                                                 args.profile)
        write_results("national_scale", res, report(res))  # what is done so far
    md = report(res)
    print(md)
    write_results("national_scale", res, md)


if __name__ == "__main__":
    main()
