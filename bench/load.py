"""Mixed load: N analysts at once for S seconds against the real server, as production runs it.

Run: .venv/bin/python -m bench.load [--db postgres|sqlite|both] [--analysts N] [--seconds S]
                                    [--web-workers W] [--restart-postgres] [--workdir DIR]
Defaults: PostgreSQL, 50 analysts and 4 web workers (SQLite: 20 analysts, 1 worker), 90 s.
Loopback only; bounded in time (S seconds of load, requests in flight get at most 60 s more,
then at most 30 s + 90 s of polling for the second matching stage); stops by itself.

Set-up (fresh each run, under --workdir):
* a throwaway PostgreSQL 15 cluster (tests/support/postgres.py; `max_connections` raised from
  the test cluster's 60 to PostgreSQL's default 100, `log_lock_waits` on) or a SQLite file;
  the migrations;
* the estate through the app's own CSV import (`cellwatch import estate`): 4 establishments,
  400 cells, 400 prisoners (95% in custody) with 1-5 stays each, 40 aliases;
* 1,000 reference photos: 24 real rendered cell photos (bench/matching_accuracy.py scenes)
  through `cellwatch import photos` (the uploads' near-duplicates and other views are of
  these), 976 synthetic rows bulk loaded as in bench/intake_api.py (random hashes, feature
  blobs in the real format taken from 40 real photos of 5 other rendered cells, 3% of bits
  flipped);
* one analyst user and API key per simulated analyst, one supervisor for the seed data;
* the server: `cellwatch serve --workers W` (uvicorn, production log settings) from this
  checkout, CELLWATCH_ENVIRONMENT=development, 127.0.0.1 on a free port;
* seed data through the API (as a lead would produce it): 72 accounts, each with a re-post of
  a reference photo, their cell matches confirmed, the suggested occupants confirmed (so
  dossiers hold accounts), 48 takedown drafts, one cell search per matched cell.

The mix, drawn per request: uploads 20% (POST /api/v1/images, one 1080 px JPEG, every one
different bytes: 25% re-posts of a reference photo, 15% a reference cell seen from a moved
camera, 60% unrelated synthetic pictures), account submissions 10% (POST /api/v1/accounts,
one such image, a new handle, an Idempotency-Key), prisoner searches 30% (POST
/api/v1/prisoners/search: prison number, surname + forename, surname + date of birth,
alias), dossier views 20% (POST /api/v1/prisoners/{pn}/dossier with a purpose; half of them
prisoners with attributed accounts), lists 20% (GET /api/v1/accounts, /api/v1/takedowns,
/api/v1/searches, with filters now and then). Each analyst is a thread with its own
keep-alive httpx client, sending its next request as soon as the previous answered (no think
time; the upload images are made between requests, outside the timing).

Afterwards: every 201's image and account is looked up in the database; every image stored
during the run must have its first matching stage (a match_run row) and, within 30 s of the
end of the load, its second (match_run.second_stage_at). Web worker RSS is sampled every 5 s.
Figures depend on the shared 2-core machine: read them as what this machine did, not as
timed assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from bench.scale_support import (
    RESULTS,
    ROOT,
    Loader,
    free_port,
    fresh_postgres,
    fresh_sqlite,
    random_hex,
    summary,
    utc,
    write_results,
)

# --- what is measured against what ---------------------------------------------------------
MIX = {"upload": 0.20, "account": 0.10, "search": 0.30, "dossier": 0.20, "list": 0.20}
TARGET_P95_MS = {"search": 150, "dossier": 300, "list": 200, "upload": 1000, "account": 1500}
TARGET_MATCHED_WITHIN_S = 30
TARGET_RSS_GROWTH = 0.10
REQUEST_TIMEOUT_S = 60
RSS_EVERY_S = 5.0

ESTABLISHMENTS = ["LDA", "LDB", "LDC", "LDD"]
CELLS_PER = 100
PRISONERS = 400
ALIASES = 40
REFERENCES = 1000
BUDGET_OFF = False  # --budget-off: read budgets lifted (a saturation run, no think time)
REAL_SCENES = 24
DISTRACTOR_SCENES, DISTRACTOR_VIEWS = 5, 8
FLIP_BITS = 0.03
SEED_ACCOUNTS_PER_SCENE = 3
SEED_TAKEDOWNS = 48
PLATFORMS = ["instagram", "tiktok", "x"]
UPLOAD_KINDS = (("near_duplicate", 0.25), ("other_view", 0.15), ("unrelated", 0.60))
IMAGES_VERSION = 1  # bump when the rendered set changes (the cache key)


# --- images -------------------------------------------------------------------------------
def _jpeg(img: PILImage.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _to_1080(data: bytes) -> bytes:
    img = PILImage.open(io.BytesIO(data)).convert("RGB")
    f = 1080 / max(img.size)
    img = img.resize((round(img.width * f), round(img.height * f)), PILImage.Resampling.LANCZOS)
    return _jpeg(img, 95)


def render_images(workdir: Path) -> dict[str, list[bytes]]:
    """Real reference photos, other views of the same cells, distractor features. Cached: the
    rendering takes a minute or two and is a pure function of the seeds, the renderer's code
    and the feature format (a cache from older code would feed stale blobs to the library)."""
    from app.evidence.hashing import FEATURES_VERSION
    renderer = hashlib.sha256(Path(__file__).with_name("matching_accuracy.py").read_bytes())
    cache = workdir / (f"images-v{IMAGES_VERSION}-f{FEATURES_VERSION}-"
                       f"{renderer.hexdigest()[:12]}.pickle")
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from app.evidence.hashing import analyse_image
    from bench.matching_accuracy import make_scene, moved_camera, photograph, render

    t = time.perf_counter()
    refs, refs_1080, views_1080 = [], [], []
    for s in range(REAL_SCENES):
        scene = make_scene(7000 + s)
        rng = np.random.default_rng(7000 + s)
        refs.append(photograph(render(scene, scene.camera), rng))
        refs_1080.append(_to_1080(refs[-1]))
        cam, _, _ = moved_camera(scene, rng)
        views_1080.append(_to_1080(photograph(render(scene, cam), rng)))
        print(f"  rendered scene {s + 1}/{REAL_SCENES}", flush=True)
    pool = []
    for s in range(DISTRACTOR_SCENES):
        scene = make_scene(9500 + s)
        for v in range(DISTRACTOR_VIEWS):
            rng = np.random.default_rng(950_000 + s * DISTRACTOR_VIEWS + v)
            cam = scene.camera if v == 0 else moved_camera(scene, rng)[0]
            pool.append(analyse_image(photograph(render(scene, cam), rng)).features)
    images = {"refs": refs, "refs_1080": refs_1080, "views_1080": views_1080, "pool": pool}
    workdir.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(images))
    print(f"  images rendered in {time.perf_counter() - t:.0f} s", flush=True)
    return images


def vary(data: bytes, rng: np.random.Generator) -> bytes:
    """A re-post: brightness/contrast changed, re-encoded; different bytes every time."""
    arr = np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB")).astype(np.float32)
    arr = (arr - 128) * rng.uniform(0.9, 1.1) + 128 + rng.uniform(-12, 12)
    return _jpeg(PILImage.fromarray(np.clip(arr, 0, 255).astype(np.uint8)),
                 int(rng.integers(70, 93)))


def unrelated(rng: np.random.Generator) -> bytes:
    """A 1080x810 picture of nothing held: a random colour field with random shapes (global
    hashes ~32 bits from each other; corners for ORB) and sensor-like noise."""
    w, h = 1080, 810
    base = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = PILImage.fromarray(base).resize((w, h), PILImage.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(25, 45))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = (x0, y0, x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(20, 300)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(3))
        if shape == 0:
            draw.rectangle(box, fill=colour)
        elif shape == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=int(rng.integers(2, 12)))
    arr = np.asarray(img).astype(np.int16) + rng.integers(-6, 7, size=(h, w, 3), dtype=np.int16)
    return _jpeg(PILImage.fromarray(np.clip(arr, 0, 255).astype(np.uint8)),
                 int(rng.integers(75, 92)))


def upload_image(images: dict[str, list[bytes]], rng: np.random.Generator) -> tuple[str, bytes]:
    r, kind = rng.random(), "unrelated"
    for name, share in UPLOAD_KINDS:
        if r < share:
            kind = name
            break
        r -= share
    if kind == "near_duplicate":
        return kind, vary(images["refs_1080"][int(rng.integers(REAL_SCENES))], rng)
    if kind == "other_view":
        return kind, vary(images["views_1080"][int(rng.integers(REAL_SCENES))], rng)
    return kind, unrelated(rng)


# --- the estate, through the app's CSV import ---------------------------------------------
@dataclass
class Estate:
    numbers: list[str] = field(default_factory=list)
    people: list[tuple[str, str, str, str]] = field(default_factory=list)  # pn, sur, fore, dob
    aliases: list[str] = field(default_factory=list)
    occupants: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # now
    cells: list[tuple[str, str]] = field(default_factory=list)


def write_estate(folder: Path, rng: np.random.Generator) -> Estate:
    from bench.national_data import COMMON_SURNAMES, MALE

    folder.mkdir(parents=True, exist_ok=True)
    e = Estate()
    today = date.today()
    est = ["code,name,category,region"] + [f"{c},HMP Load {c[-1]},B,Bench" for c in ESTABLISHMENTS]
    cells = ["establishment_code,label,capacity"]
    for code in ESTABLISHMENTS:
        for c in range(CELLS_PER):
            label = f"{'ABCD'[c // 25]}-{c % 25 // 13 + 1}-{c % 25 + 1:03d}"
            e.cells.append((code, label))
            cells.append(f"{code},{label},{2 if rng.random() < 0.4 else 1}")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    numbers: set[str] = set()
    while len(numbers) < PRISONERS:
        numbers.add(f"{letters[rng.integers(26)]}{rng.integers(10000):04d}"
                    f"{letters[rng.integers(26)]}{letters[rng.integers(26)]}")
    e.numbers = sorted(numbers)
    surnames = COMMON_SURNAMES[:150]
    weights = 1.0 / (np.arange(len(surnames)) + 10.0)
    weights /= weights.sum()
    prisoners = ["prison_number,surname,forenames,date_of_birth,release_date,"
                 "victim_contact_restriction,organised_crime_nominal,category_a"]
    stays = ["prison_number,establishment_code,cell_label,starts_on,ends_on"]
    for pn in e.numbers:
        surname = surnames[int(rng.choice(len(surnames), p=weights))]
        fore = MALE[int(rng.integers(len(MALE)))]
        if rng.random() < 0.4:
            fore += " " + MALE[int(rng.integers(len(MALE)))]
        dob = date(1965, 1, 1) + timedelta(days=int(rng.integers(0, 40 * 365)))
        release = today + timedelta(days=int(rng.integers(30, 2000)))
        e.people.append((pn, surname, fore, dob.isoformat()))
        flags = ["Y" if rng.random() < p else "N" for p in (0.03, 0.05, 0.01)]
        prisoners.append(f"{pn},{surname},{fore},{dob},{release},{','.join(flags)}")
        k = 1 + min(int(rng.poisson(1.5)), 4)
        span = int(rng.integers(k * 20, 1500))
        start = today - timedelta(days=span)
        released = rng.random() < 0.05
        end = today - timedelta(days=int(rng.integers(1, 10))) if released else None
        total = ((end or today) - start).days
        cuts = sorted(int(x) for x in rng.choice(np.arange(1, total), size=k - 1,
                                                  replace=False)) if k > 1 else []
        starts = [start] + [start + timedelta(days=c) for c in cuts]
        for j, s in enumerate(starts):
            code, label = e.cells[int(rng.integers(len(e.cells)))]
            until = starts[j + 1] if j + 1 < len(starts) else end
            stays.append(f"{pn},{code},{label},{s},{until or ''}")
            if until is None:
                e.occupants.setdefault((code, label), []).append(pn)
    aliases = ["prison_number,surname,forenames"]
    for pn in rng.choice(e.numbers, size=ALIASES, replace=False):
        alias = surnames[int(rng.integers(len(surnames)))] + "son"
        e.aliases.append(alias)
        aliases.append(f"{pn},{alias},{MALE[int(rng.integers(len(MALE)))]}")
    for name, lines in (("establishments", est), ("cells", cells), ("prisoners", prisoners),
                        ("occupancy", stays), ("aliases", aliases)):
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return e


def cellwatch(env: dict[str, str], *args: str) -> str:
    """The `cellwatch` command from this checkout (not the one the venv's script points at)."""
    done = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"cellwatch {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def app_env(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CELLWATCH_DATABASE_URL": url, "CELLWATCH_DATA_DIR": str(data_dir),
            "CELLWATCH_ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1",
            # the read budgets, sign-in gate, body timeouts and connection limit are the
            # shipped defaults: a unit's real limits, on during the load (--budget-off, for
            # a no-think-time saturation run, lifts the read budgets only)
            **({"CELLWATCH_READ_BUDGET_PER_HOUR": "1000000",
                "CELLWATCH_READ_BUDGET_PER_DAY": "1000000"} if BUDGET_OFF else {}),
            "PYTHONPATH": str(ROOT)}


def load_library(url: str, env: dict[str, str], workdir: Path, estate: Estate,
                 images: dict[str, list[bytes]], rng: np.random.Generator) -> dict[str, Any]:
    """24 real reference photos through `cellwatch import photos` on cells with occupants now,
    then synthetic reference rows up to REFERENCES, bulk loaded."""
    from app.evidence.hashing import pack_features, unpack_features, unpack_thumbnail

    occupied = sorted(estate.occupants)
    picks = [occupied[int(i)] for i in rng.choice(len(occupied), size=REAL_SCENES,
                                                   replace=False)]
    tree = workdir / "photos"
    shutil.rmtree(tree, ignore_errors=True)
    for s, (code, label) in enumerate(picks):
        (tree / code / label).mkdir(parents=True)
        (tree / code / label / f"scene-{s}.jpg").write_bytes(images["refs"][s])
    out = cellwatch(env, "import", "photos", str(tree))
    db = Loader(url)
    image0 = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM image"))
    ref0 = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM reference_photo"))
    cell_ids = [r[0] for r in db.conn.execute("SELECT id FROM cell ORDER BY id").fetchall()]
    n_syn = REFERENCES - image0
    now = utc(2026, 1, 5)
    hashes = rng.integers(-(2**63), 2**63 - 1, size=(n_syn, 4), dtype=np.int64, endpoint=True)
    db.insert("image", ["id", "sha256", "format", "byte_size", "width", "height",
                        "storage_key", "wrapped_key", "phash", "phash_mirror", "phash_trim",
                        "dhash", "exif_device", "created_at"],
              [(image0 + i + 1, random_hex(32), "jpeg", 250_000 + i, 1440, 1080, random_hex(16),
                rng.bytes(60), *(int(x) for x in hashes[i]), "", now - timedelta(minutes=i))
               for i in range(n_syn)])
    pool = [unpack_features(b) for b in images["pool"]]
    mirrored = [unpack_features(b, mirrored=True) for b in images["pool"]]
    thumbs = [unpack_thumbnail(b).tobytes() for b in images["pool"]]

    def features() -> Iterator[tuple[int, bytes]]:
        # the current blob format: an older version is stale and would never vote
        for i in range(n_syn):
            xy, desc, size = pool[i % len(pool)]
            noisy = desc ^ np.packbits(rng.random((desc.shape[0], 256)) < FLIP_BITS, axis=1)
            mxy, mdesc, _ = mirrored[i % len(pool)]
            yield (image0 + i + 1,
                   pack_features(xy, noisy, mxy, mdesc, size, thumbs[i % len(pool)]))

    db.insert("image_features", ["image_id", "data"], features(), chunk=2000)
    db.insert("reference_photo", ["id", "image_id", "cell_id", "source", "added_at"],
              [(ref0 + i + 1, image0 + i + 1, cell_ids[i % len(cell_ids)], "staff", now)
               for i in range(n_syn)])
    db.finish()  # PostgreSQL: sequences past the ids, VACUUM ANALYZE
    return {"real": image0, "synthetic": n_syn, "real_cells": picks,
            "import_photos": out.strip().splitlines()[-1:]}


def make_users(url: str, analysts: int) -> tuple[str, list[str]]:
    """One supervisor (seed data) and one analyst per simulated analyst, an API key each."""
    from sqlmodel import Session

    from app.audit.service import Actor
    from app.auth import apikeys
    from app.auth.models import User
    from app.auth.passwords import hash_password
    from app.db import make_engine
    from app.settings import Settings

    engine = make_engine(url)
    secret = hash_password("bench horse battery staple")
    keys = []
    with Session(engine) as session:
        users = [User(username="load-lead", role="supervisor", password_hash=secret,
                      must_change_password=False)]
        users += [User(username=f"load-analyst-{i:03d}", role="analyst", password_hash=secret,
                       must_change_password=False) for i in range(analysts)]
        session.add_all(users)
        session.flush()
        settings = Settings(database_url=url)
        for user in users:
            keys.append(apikeys.create(session, settings, Actor(None, "bench"), user,
                                       name="load", days=30)[1])
        session.commit()
    engine.dispose()
    return keys[0], keys[1:]


# --- the database -------------------------------------------------------------------------
class Postgres:
    """A temporary_cluster() with what a restart needs: its data directory and pg_ctl."""

    def __init__(self, server_url: str) -> None:
        import psycopg

        from tests.support.postgres import _bindir

        self.server_url = server_url
        self.dsn = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            self.data = Path(conn.execute("SHOW data_directory").fetchone()[0])
            self.version = conn.execute("SHOW server_version").fetchone()[0]
        self.log = self.data.parent / "server.log"
        self.pg_ctl = str((_bindir() or Path("/usr/lib/postgresql/15/bin")) / "pg_ctl")
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def configure(self) -> None:
        """PostgreSQL's default max_connections, 100 (the test cluster starts with
        `-c max_connections=60`; four workers may hold 4 x (10 + 10) connections), and waits
        on locks longer than deadlock_timeout (1 s) logged. The command-line options win over
        ALTER SYSTEM, so the cluster is restarted with its own options, that one changed; a
        later `pg_ctl restart` reuses them (postmaster.opts)."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET log_lock_waits = on")
        opts = shlex.split((self.data / "postmaster.opts").read_text())
        opts = opts[3:] if opts[1] == "-D" else opts[1:]  # binary, -D and the data directory
        opts = ["max_connections=100" if o.startswith("max_connections=") else o for o in opts]
        self.restart(shlex.join(opts))

    def restart(self, options: str | None = None) -> float:
        t = time.perf_counter()
        subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.data), "-l", str(self.log),
                        "-w", "-t", "60", "-m", "fast", *(["-o", options] if options else []),
                        "restart"], check=True, capture_output=True, timeout=120)
        return time.perf_counter() - t

    def answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def setting(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return str(conn.execute(f"SHOW {name}").fetchone()[0])


# --- the server ---------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen
    base_url: str
    workers: int
    log: Path
    ready_s: float


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _nice(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except (OSError, IndexError, ValueError):
        return 0


def worker_pids(server: Server) -> list[int]:
    """uvicorn with one worker serves in its own process; with several, the workers are the
    supervisor's spawned children (not multiprocessing's resource tracker, nor the match
    workers `cellwatch serve` starts beside them, which run niced)."""
    if server.workers == 1:
        return [server.proc.pid]
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return sorted(p for p in pids if _ppid(p) == server.proc.pid
                  and "resource_tracker" not in _cmdline(p) and _nice(p) == 0)


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS (MB) and CPU seconds (utime + stime) of one process."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return out


@contextmanager
def serve(url: str, data_dir: Path, workers: int, log: Path) -> Iterator[Server]:
    """`cellwatch serve --workers W`: uvicorn as production runs it (info log with the access
    log, proxy headers). Ready when /healthz answers and every worker has started (built its
    match index)."""
    port = free_port()
    env = app_env(url, data_dir)
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
            up = log.read_text(errors="replace").count("Application startup complete")
            if up >= workers:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.perf_counter() - started > 300:
                raise RuntimeError("server did not start in 300 s")
            time.sleep(0.1)
        yield Server(proc, base, workers, log, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what we started
            proc.wait()


# --- seed data through the API --------------------------------------------------------------
def ref_image_ids(url: str, cells: list[tuple[str, str]]) -> list[int]:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        ids = [conn.execute(text(
            # the real photos were imported before the synthetic rows: the lowest id
            "SELECT MIN(rp.image_id) FROM reference_photo rp JOIN cell c ON c.id = rp.cell_id "
            "JOIN establishment e ON e.id = c.establishment_id "
            "WHERE e.code = :code AND c.label = :label"),
            {"code": code, "label": label}).scalar_one() for code, label in cells]
    engine.dispose()
    return ids


def seed(base: str, lead_key: str, url: str, images: dict[str, list[bytes]],
         cells: list[tuple[str, str]]) -> dict[str, Any]:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    rng = np.random.default_rng(11)
    counts: Counter[str] = Counter()
    ref_images = ref_image_ids(url, cells)  # the real reference photo of each scene
    new_images: list[int] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {lead_key}"},
                      timeout=120) as client:
        def ok(response: httpx.Response, what: str) -> dict[str, Any]:
            if response.status_code >= 300:
                raise RuntimeError(f"seed {what}: {response.status_code} {response.text[:500]}")
            counts[what] += 1
            return response.json()

        accounts = []
        for i in range(REAL_SCENES * SEED_ACCOUNTS_PER_SCENE):
            scene = i % REAL_SCENES
            body = ok(client.post("/api/v1/accounts", data={
                "account": f"@seed_{i:03d}", "platform": PLATFORMS[i % len(PLATFORMS)]},
                files={"files": (f"seed-{i}.jpg", vary(images["refs_1080"][scene], rng),
                                 "image/jpeg")},
                headers={"Idempotency-Key": f"load-seed-{i:04d}"}), "accounts")
            account_id, image_id = body["account"]["id"], body["images"][0]["image_id"]
            accounts.append(account_id)
            new_images.append(image_id)
            with engine.connect() as conn:
                matches = [r[0] for r in conn.execute(text(
                    "SELECT id FROM match WHERE status = 'pending' AND ((query_image_id = :i "
                    "AND candidate_image_id = :r) OR (query_image_id = :r AND "
                    "candidate_image_id = :i))"), {"i": image_id, "r": ref_images[scene]})]
            for match_id in matches:
                ok(client.post(f"/api/v1/matches/{match_id}/confirm"), "cell matches confirmed")
            with engine.connect() as conn:
                suggested = [r[0] for r in conn.execute(text(
                    "SELECT id FROM attribution WHERE account_id = :a AND status = 'suggested' "
                    "ORDER BY id"), {"a": account_id})]
            for attribution_id in suggested[:2]:
                ok(client.post(f"/api/v1/attributions/{attribution_id}/confirm"),
                   "attributions confirmed")
        for account_id in accounts[:SEED_TAKEDOWNS]:
            with engine.connect() as conn:
                evidence = [r[0] for r in conn.execute(text(
                    "SELECT id FROM evidence_image WHERE account_id = :a"), {"a": account_id})]
            ok(client.post("/api/v1/takedowns", json={
                "account_id": account_id, "evidence_ids": evidence,
                "reason": "Account run from a smuggled phone inside a prison cell.",
                "legal_basis": "Prison Act 1952, section 40D.",
                "contact": "Load test unit, unit@cellwatch.test", "good_faith": True}),
               "takedowns")
        with engine.connect() as conn:
            firsts = [r[0] for r in conn.execute(text(
                "SELECT MIN(id) FROM attribution WHERE status = 'confirmed' "
                "GROUP BY cell_id"))]
        for attribution_id in firsts:
            ok(client.post("/api/v1/searches", json={
                "attribution_id": attribution_id, "reason": "Photos posted from this cell."}),
               "cell searches")
    wait_matched(url, new_images, timeout_s=120)
    with engine.connect() as conn:
        attributed = sorted({r[0] for r in conn.execute(text(
            "SELECT DISTINCT p.prison_number FROM attribution a JOIN prisoner p ON "
            "p.id = a.prisoner_id WHERE a.status = 'confirmed'"))})
    engine.dispose()
    return {"counts": dict(counts), "attributed_prisoners": attributed}


def match_state(url: str, image_ids: list[int]) -> tuple[set[int], set[int]]:
    """(images with a first stage, images with the second stage done)."""
    from sqlalchemy import text

    from app.db import make_engine

    first: set[int] = set()
    second: set[int] = set()
    engine = make_engine(url)
    with engine.connect() as conn:
        for i in range(0, len(image_ids), 5000):
            chunk = image_ids[i:i + 5000]
            for image_id, done in conn.execute(text(
                    "SELECT image_id, second_stage_at IS NOT NULL FROM match_run "
                    f"WHERE image_id IN ({','.join(map(str, chunk))})")):
                first.add(image_id)
                if done:
                    second.add(image_id)
    engine.dispose()
    return first, second


def wait_matched(url: str, image_ids: list[int], timeout_s: float) -> None:
    t = time.perf_counter()
    while True:
        first, second = match_state(url, image_ids)
        if len(second) == len(image_ids):
            return
        if time.perf_counter() - t > timeout_s:
            raise RuntimeError(f"seed: {len(image_ids) - len(second)} images not matched")
        time.sleep(0.5)


# --- the load -----------------------------------------------------------------------------
@dataclass
class Sample:
    op: str
    kind: str
    start: float  # seconds since the load started
    end: float
    status: str  # "200", "500", "timeout", "ConnectError", ...

    @property
    def ok(self) -> bool:
        return self.status.isdigit() and 200 <= int(self.status) < 300

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class Shared:
    images: dict[str, list[bytes]]
    estate: Estate
    attributed: list[str]
    run_id: str
    samples: list[Sample] = field(default_factory=list)
    created_images: list[int] = field(default_factory=list)  # from 201 answers
    created_accounts: list[int] = field(default_factory=list)
    ok_images: list[int] = field(default_factory=list)  # every image id in a 2xx answer
    upload_kinds: Counter[str] = field(default_factory=Counter)
    near_dup_found: Counter[str] = field(default_factory=Counter)
    failure_bodies: dict[str, list[str]] = field(default_factory=dict)  # a few per status
    after_5xx: Counter[str] = field(default_factory=Counter)  # connection errors after a 5xx
    think_s: float = 0.0  # mean pause between an answer and the analyst's next request
    lock: threading.Lock = field(default_factory=threading.Lock)


def build(op: str, rng: np.random.Generator, sh: Shared, analyst: int, n: int
          ) -> tuple[str, str, dict[str, Any], str]:
    """(method, url, httpx keyword arguments, kind) of one request."""
    e = sh.estate
    if op == "upload":
        kind, data = upload_image(sh.images, rng)
        return "POST", "/api/v1/images", {"files": {"files": (
            f"upload-{analyst}-{n}.jpg", data, "image/jpeg")}}, kind
    if op == "account":
        kind, data = upload_image(sh.images, rng)
        handle = f"@ld{sh.run_id[:4]}{analyst:02d}{n:05d}"  # X allows 15 characters
        return "POST", "/api/v1/accounts", {
            "data": {"account": handle, "platform": PLATFORMS[int(rng.integers(3))]},
            "files": {"files": (f"account-{analyst}-{n}.jpg", data, "image/jpeg")},
            "headers": {"Idempotency-Key": uuid.uuid4().hex}}, kind
    if op == "search":
        pn, surname, fore, dob = e.people[int(rng.integers(len(e.people)))]
        r = rng.random()
        if r < 0.4:
            params = {"prison_number": pn.lower() if rng.random() < 0.2 else pn}
            kind = "prison_number"
        elif r < 0.7:
            params = {"surname": surname, "forename": fore.split()[0]}
            kind = "surname_forename"
        elif r < 0.85:
            params = {"surname": surname[:3], "dob": dob}
            kind = "surname_prefix_dob"
        else:
            params = {"alias": e.aliases[int(rng.integers(len(e.aliases)))]}
            kind = "alias"
        return "POST", "/api/v1/prisoners/search", {"json": params}, kind
    if op == "dossier":
        if sh.attributed and rng.random() < 0.5:
            pn, kind = sh.attributed[int(rng.integers(len(sh.attributed)))], "with_accounts"
        else:
            pn, kind = e.numbers[int(rng.integers(len(e.numbers)))], "any"
        return "POST", f"/api/v1/prisoners/{pn}/dossier", {"json": {
            "purpose": f"Load test: investigation 2026/{int(rng.integers(1, 500))}"}}, kind
    which = ("accounts", "takedowns", "searches")[int(rng.integers(3))]
    params: dict[str, Any] = {}
    if which == "accounts":
        r = rng.random()
        if r < 0.2:
            params["platform"] = PLATFORMS[int(rng.integers(3))]
        elif r < 0.3:
            params["status"] = "new"
        elif r < 0.4:
            params["page"] = 2
    elif which == "takedowns" and rng.random() < 0.3:
        params["state"] = "draft"
    elif which == "searches" and rng.random() < 0.3:
        params["establishment"] = ESTABLISHMENTS[int(rng.integers(len(ESTABLISHMENTS)))]
    return "GET", f"/api/v1/{which}", {"params": params}, which


def analyst(index: int, key: str, base: str, t0: float, deadline: float, sh: Shared) -> None:
    rng = np.random.default_rng(10_000 + index)
    ops, weights = list(MIX), np.array(list(MIX.values()))
    time.sleep(float(rng.uniform(0, 2)))  # analysts do not all start on the same millisecond
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=10)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                      timeout=timeout) as client:
        n, previous = 0, "200"
        while time.perf_counter() < deadline:
            op = ops[int(rng.choice(len(ops), p=weights / weights.sum()))]
            method, url, kwargs, kind = build(op, rng, sh, index, n)
            n += 1
            start = time.perf_counter()
            body: Any = None
            failure = ""
            try:
                response = client.request(method, url, **kwargs)
                status = str(response.status_code)
                if op in ("upload", "account") and response.status_code < 300:
                    body = response.json()
                elif response.status_code >= 300:
                    failure = response.text[:300]
            except httpx.TimeoutException:
                status = "timeout"
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                status, failure = type(exc).__name__, str(exc)[:300]
            end = time.perf_counter()
            with sh.lock:
                sh.samples.append(Sample(op, kind, start - t0, end - t0, status))
                if not status.isdigit() and previous.startswith("5"):
                    sh.after_5xx[status] += 1
                if failure or status == "timeout":
                    seen = sh.failure_bodies.setdefault(f"{op} {status}", [])
                    if len(seen) < 3 and failure not in seen:
                        seen.append(failure)
                if body is not None:
                    ids = [im["image_id"] for im in body.get("images", [])]
                    sh.ok_images += ids
                    if status == "201":
                        sh.created_images += ids
                        if op == "account":
                            sh.created_accounts.append(body["account"]["id"])
                    if op == "upload":
                        sh.upload_kinds[kind] += 1
                        if any(im.get("candidates") for im in body.get("images", [])):
                            sh.near_dup_found[kind] += 1
            previous = status
            if sh.think_s > 0:  # a person reads the answer before the next request
                time.sleep(min(float(rng.exponential(sh.think_s)), 10 * sh.think_s))


def sample_rss(server: Server, t0: float, stop: threading.Event, out: list[dict[str, Any]]
               ) -> None:
    while True:
        t = time.perf_counter() - t0
        pids = worker_pids(server)
        out.append({"t": round(t, 1), "workers": {
            str(p): {k: round(v, 1) for k, v in proc_status(p).items()} for p in pids}})
        if stop.wait(RSS_EVERY_S):
            return


def restart_postgres(pg: Postgres, at: float, t0: float, out: dict[str, Any]) -> None:
    time.sleep(max(0.0, t0 + at - time.perf_counter()))
    out["command_start"] = round(time.perf_counter() - t0, 2)
    try:
        out["pg_ctl_s"] = round(pg.restart(), 2)
    except (subprocess.SubprocessError, OSError) as exc:
        out["error"] = str(exc)
    while not pg.answers():
        time.sleep(0.05)
    out["answering_again"] = round(time.perf_counter() - t0, 2)
    out["down_s"] = round(out["answering_again"] - out["command_start"], 2)


def warm_up(base: str, key: str, sh: Shared) -> None:
    """A few requests of each kind before the clock starts (lazy imports, first queries)."""
    rng = np.random.default_rng(3)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                      timeout=120) as client:
        for n in range(3):
            for op in MIX:
                method, url, kwargs, _ = build(op, rng, sh, 999, n)
                client.request(method, url, **kwargs)


# --- afterwards ---------------------------------------------------------------------------
def stored(url: str, table: str, ids: list[int]) -> set[int]:
    from sqlalchemy import text

    from app.db import make_engine

    found: set[int] = set()
    engine = make_engine(url)
    with engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            chunk = ids[i:i + 5000]
            found |= {r[0] for r in conn.execute(text(
                f"SELECT id FROM {table} WHERE id IN ({','.join(map(str, chunk))})"))}
    engine.dispose()
    return found


def scalar(url: str, sql: str) -> Any:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def follow_matching(url: str, before_max: int, load_end: float) -> dict[str, Any]:
    """Poll match_run for every image stored during the run: how many still lack a stage at
    +30 s after the load ended, and when the last second stage was done (polled to +120 s)."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM image WHERE id > :m ORDER BY id"),
                                          {"m": before_max})]
    engine.dispose()
    timeline = []
    at_30: dict[str, Any] | None = None
    while True:
        since = time.perf_counter() - load_end
        first, second = match_state(url, ids)
        state = {"t": round(since, 1), "no_first_stage": len(ids) - len(first),
                 "second_stage_pending": len(first) - len(second)}
        timeline.append(state)
        # no request is in flight any more: an image without a first stage never gets one,
        # so the state is final once every image with a first stage has its second
        final = len(second) == len(first)
        if at_30 is None and (since >= TARGET_MATCHED_WITHIN_S or final):
            at_30 = {"after_s": state["t"], "no_first_stage": state["no_first_stage"],
                     "second_stage_pending": state["second_stage_pending"],
                     "not_fully_matched": len(ids) - len(second)}
        # past +30 s, keep polling only while second stages still come in (at most to +120 s)
        stalled = (since >= TARGET_MATCHED_WITHIN_S + 20 and len(timeline) > 20
                   and timeline[-20]["second_stage_pending"] == state["second_stage_pending"])
        if final or stalled or since >= 120:
            break
        time.sleep(1.0)
    return {"images_stored_during_run": len(ids), "at_30s": at_30,
            "second_stages_done_at_s": timeline[-1]["t"]
            if timeline[-1]["second_stage_pending"] == 0 else None,
            "last": timeline[-1], "poll": timeline[:: max(1, len(timeline) // 20)],
            "ids": ids, "first": first, "second": second}


EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Deadlock\w*|Violation"
                      r"|Cancelled|Exit)):?\s*(.*)$")
APP_FRAME = re.compile(r'File "[^"]*/(app/[^"]+)", line (\d+), in (\w+)')
PLUMBING = {"app/middleware.py", "app/evidence/limits.py", "app/errors.py"}
LEVEL = re.compile(r"^(INFO|WARNING|ERROR|DEBUG|CRITICAL)[: ]")


def server_log_errors(log: Path) -> dict[str, Any]:
    """Each ERROR record of the server log with its traceback, counted by what was logged
    (route), the last exception line and the innermost frame in app/ ("where")."""
    text_ = log.read_text(errors="replace")
    lines = text_.splitlines()
    records: Counter[str] = Counter()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("ERROR"):
            i += 1
            continue
        head, block = lines[i], []
        i += 1
        while i < len(lines) and not LEVEL.match(lines[i]):
            block.append(lines[i])
            i += 1
        exc = next((f"{m.group(1)}: {m.group(2)[:140]}" for line in reversed(block)
                    if not line.startswith(" ") and (m := EXC_LINE.match(line.strip()))), "")
        frames = [f"{m.group(1)}:{m.group(2)} {m.group(3)}" for line in block
                  if (m := APP_FRAME.search(line)) and m.group(1) not in PLUMBING]
        where = " -> ".join(dict.fromkeys([frames[0], frames[-1]])) if frames else ""
        route = re.sub(r"/(?!v\d+/)[^/\s]*\d[^/\s]*", "/{id}", head.split(":", 2)[-1].strip())[:90]
        records[f"{route} | {exc} | {where}"] += 1
    access = Counter(m.group(1) for m in re.finditer(r'HTTP/1\.1" (\d{3})', text_))
    return {"tracebacks": text_.count("Traceback (most recent call last)"),
            "error_records": sum(records.values()), "errors": records.most_common(20),
            "access_log_statuses": dict(access), "lines": len(lines)}


def postgres_log_errors(log: Path) -> dict[str, Any]:
    text_ = log.read_text(errors="replace")
    errors = Counter(m.group(1)[:160] for m in re.finditer(r"ERROR:\s+(.*)", text_))
    fatal = Counter(m.group(1)[:160] for m in re.finditer(r"FATAL:\s+(.*)", text_))
    waits = len(re.findall(r"still waiting for", text_))
    deadlocks = re.findall(r"ERROR:\s+deadlock detected\n(?:.*\n){1,12}", text_)
    return {"errors": errors.most_common(10), "fatal": fatal.most_common(5),
            "lock_waits_over_1s": waits, "deadlocks": len(deadlocks),
            "deadlock_examples": [d.strip() for d in deadlocks[:2]]}


def op_stats(samples: list[Sample]) -> dict[str, Any]:
    failures = Counter(s.status for s in samples if not s.ok)
    return {"requests": len(samples), "ok": sum(1 for s in samples if s.ok),
            "failed": sum(failures.values()), "failures": dict(failures.most_common()),
            "ok_ms": summary([s.ms for s in samples if s.ok]),
            "all_ms": summary([s.ms for s in samples])}


def rss_growth(rss: list[dict[str, Any]]) -> dict[str, Any]:
    def at(t: float) -> dict[str, Any] | None:
        return min(rss, key=lambda r: abs(r["t"] - t)) if rss else None

    first, last = (rss[0], rss[-1]) if rss else (None, None)
    out: dict[str, Any] = {
        "start_mb": {p: w.get("rss_mb") for p, w in first["workers"].items()} if first else {},
        "end_mb": {p: w.get("rss_mb") for p, w in last["workers"].items()} if last else {},
        "peak_mb": max((w.get("rss_mb", 0) for r in rss for w in r["workers"].values()),
                       default=0)}
    if not rss or rss[-1]["t"] < 175:
        out["minute2_to_3"] = None
        return out
    # Medians of the samples within each minute: one sample lands on an image being decoded
    # (tens of MB for a moment), and two such instants would say nothing of a trend.
    second = [r for r in rss if 60 <= r["t"] < 120]
    third = [r for r in rss if 120 <= r["t"] <= 180]
    workers = [p for p in second[0]["workers"] if all(p in r["workers"] for r in second + third)]
    growth = {p: round(statistics.median(r["workers"][p]["rss_mb"] for r in third)
                       / statistics.median(r["workers"][p]["rss_mb"] for r in second) - 1, 4)
              for p in workers}
    a, b = at(120), at(180)
    assert a is not None and b is not None
    instant = {p: round((b["workers"][p]["rss_mb"] - w["rss_mb"]) / w["rss_mb"], 4)
               for p, w in a["workers"].items() if p in b["workers"] and w.get("rss_mb")}
    out["minute2_to_3"] = {"t": [a["t"], b["t"]], "growth": growth,
                           "max_growth": max(growth.values(), default=None),
                           "instant_growth": instant,
                           "workers_replaced": sorted(set(a["workers"]) ^ set(b["workers"]))}
    return out


def run_one(kind: str, args: argparse.Namespace, images: dict[str, list[bytes]]
            ) -> dict[str, Any]:
    workdir = args.workdir / kind
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    analysts = args.analysts or (50 if kind == "postgres" else 20)
    workers = args.web_workers or (4 if kind == "postgres" else 1)
    res: dict[str, Any] = {"database": kind, "analysts": analysts, "web_workers": workers,
                           "seconds": args.seconds, "think_s": args.think}
    if kind == "sqlite":
        url = fresh_sqlite(workdir / "load.db")
        res.update(run_load(url, None, workdir, analysts, workers, args, images))
        return res
    from tests.support.postgres import temporary_cluster

    with temporary_cluster() as server_url:
        pg = Postgres(server_url)
        pg.configure()
        res["postgres"] = {"version": pg.version,
                           "max_connections": pg.setting("max_connections"),
                           "shared_buffers": pg.setting("shared_buffers"),
                           "fsync": pg.setting("fsync"),
                           "synchronous_commit": pg.setting("synchronous_commit")}
        url = fresh_postgres(server_url, "cellwatch_load")
        try:
            res.update(run_load(url, pg, workdir, analysts, workers, args, images))
        finally:
            shutil.copy(pg.log, workdir / "postgres.log")
        res["postgres_log"] = postgres_log_errors(workdir / "postgres.log")
    return res


def run_load(url: str, pg: Postgres | None, workdir: Path, analysts: int, workers: int,
             args: argparse.Namespace, images: dict[str, list[bytes]]) -> dict[str, Any]:
    rng = np.random.default_rng(2026)
    data_dir = workdir / "data"
    env = app_env(url, data_dir)
    t = time.perf_counter()
    estate = write_estate(workdir / "estate", rng)
    imported = cellwatch(env, "import", "estate", str(workdir / "estate"))
    library = load_library(url, env, workdir, estate, images, rng)
    lead, keys = make_users(url, analysts)
    print(f"  estate imported, {REFERENCES} reference photos, {analysts} analysts "
          f"({time.perf_counter() - t:.0f} s)", flush=True)
    out: dict[str, Any] = {"estate_import": imported.strip().splitlines(), "library": library}
    with serve(url, data_dir, workers, workdir / "server.log") as server:
        out["server_ready_s"] = round(server.ready_s, 1)
        t = time.perf_counter()
        seeded = seed(server.base_url, lead, url, images,
                      [tuple(c) for c in library["real_cells"]])
        out["seed"] = {"counts": seeded["counts"],
                       "prisoners_with_accounts": len(seeded["attributed_prisoners"]),
                       "seconds": round(time.perf_counter() - t, 1)}
        print(f"  server ready in {server.ready_s:.1f} s ({workers} workers); seeded "
              f"{seeded['counts']}", flush=True)
        sh = Shared(images, estate, seeded["attributed_prisoners"], uuid.uuid4().hex[:6])
        warm_up(server.base_url, lead, sh)
        sh = Shared(images, estate, seeded["attributed_prisoners"], sh.run_id,
                    think_s=args.think)
        before_max = int(scalar(url, "SELECT MAX(id) FROM image"))
        out["rows_before"] = {table: int(scalar(url, f"SELECT COUNT(*) FROM {table}")) for table
                              in ("prisoner", "occupancy", "reference_photo", "image",
                                  "account", "attribution", "takedown", "cell_search",
                                  "audit_event")}
        load_before, cpu_before = os.getloadavg(), time.process_time()
        workers_cpu_before = {p: proc_status(p).get("cpu_s", 0) for p in worker_pids(server)}
        rss: list[dict[str, Any]] = []
        stop = threading.Event()
        t0 = time.perf_counter()
        deadline = t0 + args.seconds
        threads = [threading.Thread(target=sample_rss, args=(server, t0, stop, rss),
                                    daemon=True)]
        outage: dict[str, Any] = {}
        if pg is not None and args.restart_postgres:
            threads.append(threading.Thread(target=restart_postgres,
                                            args=(pg, args.seconds / 2, t0, outage),
                                            daemon=True))
        clients = [threading.Thread(target=analyst, args=(i, keys[i], server.base_url, t0,
                                                          deadline, sh), daemon=True)
                   for i in range(analysts)]
        for th in threads + clients:
            th.start()
        print(f"  load: {analysts} analysts for {args.seconds} s ...", flush=True)
        for th in clients:
            th.join(timeout=max(1.0, deadline + REQUEST_TIMEOUT_S + 15 - time.perf_counter()))
        load_end = time.perf_counter()
        stop.set()
        out["load_seconds"] = round(load_end - t0, 1)
        out["client_cpu_s"] = round(time.process_time() - cpu_before, 1)
        out["workers_cpu_s"] = {p: round(proc_status(int(p)).get("cpu_s", 0) - c, 1)
                                for p, c in ((str(k), v) for k, v in workers_cpu_before.items())}
        out["loadavg_before_after"] = [[round(x, 2) for x in load_before],
                                       [round(x, 2) for x in os.getloadavg()]]
        print(f"  load done after {out['load_seconds']} s; following the matching ...",
              flush=True)
        matching = follow_matching(url, before_max, load_end)
        for th in threads[1:]:
            th.join(timeout=120)
    samples = sorted(sh.samples, key=lambda s: s.start)
    out["requests"] = len(samples)
    out["throughput_rps"] = round(len(samples) / args.seconds, 1)
    out["ops"] = {op: op_stats([s for s in samples if s.op == op]) for op in MIX}
    out["kinds"] = {f"{op}:{k}": op_stats([s for s in samples if s.op == op and s.kind == k])
                    for op in MIX for k in sorted({s.kind for s in samples if s.op == op})}
    out["errors_by_10s"] = [
        {"t": w, "requests": sum(1 for s in samples if w <= s.start < w + 10),
         "failed": sum(1 for s in samples if w <= s.start < w + 10 and not s.ok)}
        for w in range(0, int(args.seconds), 10)]
    found_images = stored(url, "image", sorted(set(sh.created_images)))
    found_accounts = stored(url, "account", sorted(set(sh.created_accounts)))
    answered = set(sh.ok_images)
    failed_stored = set(matching["ids"]) - answered
    out["verify"] = {
        "answers_201_images": len(set(sh.created_images)),
        "images_missing_from_db": len(set(sh.created_images) - found_images),
        "answers_201_accounts": len(set(sh.created_accounts)),
        "accounts_missing_from_db": len(set(sh.created_accounts) - found_accounts),
        "images_stored_but_answer_failed": len(failed_stored),
        "of_those_without_first_stage": len(failed_stored - matching["first"]),
        "of_those_first_stage_only": len((failed_stored & matching["first"])
                                         - matching["second"]),
        "matching": {k: v for k, v in matching.items() if k not in ("ids", "first", "second")},
        "upload_kinds": dict(sh.upload_kinds),
        "uploads_with_first_stage_candidates": dict(sh.near_dup_found)}
    out["failure_bodies"] = sh.failure_bodies
    out["connection_errors_after_5xx"] = dict(sh.after_5xx)
    out["rss"] = {"samples": rss, **rss_growth(rss)}
    if outage:
        lo = outage["command_start"]
        hi = outage.get("answering_again", lo)
        during = [s for s in samples if s.start <= hi and s.end >= lo]
        after = [s for s in samples if hi < s.start <= hi + 10]
        outside = [s for s in samples if not (s.start <= hi and s.end >= lo)]
        outage["during"] = op_stats(during)
        outage["next_10s"] = op_stats(after)
        outage["outside"] = op_stats(outside)
        for part in ("during", "next_10s", "outside"):
            outage[part].pop("ok_ms")
        out["restart"] = outage
    out["server_log"] = server_log_errors(workdir / "server.log")
    return out


# --- report -------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "ok" if ok else "**FAIL**"


def report(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = ["# Mixed load: analysts at once against the real server", "",
             f"`{res['command']}`", "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), shared with other work; Python "
             f"{m['python']}; started {res['started']}. Figures are what this machine did; "
             "read them beside the load average, not as timed assertions.", ""]
    for name, r in res["databases"].items():
        lines += [f"## {name}", "",
                  f"{r['analysts']} analysts (think time {r.get('think_s', 0)} s), "
                  f"{r['web_workers']} web worker(s), "
                  f"{r['seconds']} s of load (the last answers came at "
                  f"{r['load_seconds']} s); {r['requests']:,} requests, "
                  f"{r['throughput_rps']} per second. Load average before / after: "
                  f"{r['loadavg_before_after'][0][0]} / {r['loadavg_before_after'][1][0]}. "
                  f"CPU: web workers {sum(r['workers_cpu_s'].values()):.0f} s, "
                  f"the load clients {r['client_cpu_s']:.0f} s.", ""]
        if "postgres" in r:
            p = r["postgres"]
            lines += [f"PostgreSQL {p['version']} (throwaway cluster: fsync {p['fsync']}, "
                      f"synchronous_commit {p['synchronous_commit']}, max_connections "
                      f"{p['max_connections']}, shared_buffers {p['shared_buffers']}).", ""]
        lat = name == "postgres"
        lines += ["| operation | requests | ok | failed | failures by status | p50 (ok) | "
                  "p95 (ok) | p95 (all) | target p95" + ("" if lat else " (PostgreSQL)")
                  + " | errors 0 | p95 |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for op, s in r["ops"].items():
            ok_ms = s["ok_ms"]
            p95 = ok_ms.get("p95")
            lines.append(
                f"| {op} | {s['requests']} | {s['ok']} | {s['failed']} | "
                f"{', '.join(f'{k}: {v}' for k, v in s['failures'].items()) or '-'} | "
                f"{ok_ms.get('p50', '-')} ms | {p95 if p95 is not None else '-'} ms | "
                f"{s['all_ms'].get('p95', '-')} ms | {TARGET_P95_MS[op]} ms | "
                f"{verdict(s['failed'] == 0)} | "
                + (verdict(p95 is not None and p95 <= TARGET_P95_MS[op]) if lat else "n/a")
                + " |")
        total_failed = sum(s["failed"] for s in r["ops"].values())
        conn_errors = sum(n for s in r["ops"].values() for k, n in s["failures"].items()
                          if not k.isdigit())
        lines += ["", f"Failed: {total_failed} of {r['requests']} requests "
                  f"({100 * total_failed / max(1, r['requests']):.1f}%); target 0. Connection "
                  f"errors and timeouts: {conn_errors}, of which "
                  f"{sum(r['connection_errors_after_5xx'].values())} on the request right "
                  "after a 5xx answer on the same keep-alive connection.", ""]
        lines += ["By kind:", "", "| operation:kind | requests | failed | p50 (ok) | p95 (ok) |",
                  "|---|---|---|---|---|"]
        for k, s in r["kinds"].items():
            lines.append(f"| {k} | {s['requests']} | {s['failed']} | "
                         f"{s['ok_ms'].get('p50', '-')} ms | {s['ok_ms'].get('p95', '-')} ms |")
        v = r["verify"]
        mt = v["matching"]
        a30 = mt["at_30s"] or {}
        lines += ["", "Afterwards (the database queried directly):", "",
                  f"* 201 answers: {v['answers_201_images']} images, "
                  f"{v['answers_201_accounts']} accounts; missing from the database: "
                  f"{v['images_missing_from_db']} images, {v['accounts_missing_from_db']} "
                  "accounts.",
                  f"* Images stored during the run: {mt['images_stored_during_run']}; stored "
                  f"although their request failed (no 2xx answer named them): "
                  f"{v['images_stored_but_answer_failed']} ({v['of_those_without_first_stage']} "
                  f"of them without a first stage, {v['of_those_first_stage_only']} with the "
                  "first stage only).",
                  f"* Matching (target: every stored image fully matched within "
                  f"{TARGET_MATCHED_WITHIN_S} s of the end of the load), state at "
                  f"+{a30.get('after_s')} s: {a30.get('not_fully_matched')} of "
                  f"{mt['images_stored_during_run']} not fully matched -> "
                  f"{verdict(a30.get('not_fully_matched') == 0)} ({a30.get('no_first_stage')} "
                  f"without a first stage, which they never get; "
                  f"{a30.get('second_stage_pending')} with the second stage still pending). "
                  + (f"Every image with a first stage had its second by "
                     f"+{mt['second_stages_done_at_s']} s."
                     if mt["second_stages_done_at_s"] is not None else
                     f"Second stages still pending when polling stopped at "
                     f"+{mt['last']['t']} s: {mt['last']['second_stage_pending']}."),
                  f"* Uploads by kind (2xx): {v['upload_kinds']}; with a first-stage "
                  f"candidate in the answer: {v['uploads_with_first_stage_candidates']}."]
        g = r["rss"]
        growth = g.get("minute2_to_3")
        lines += [f"* Web worker RSS (MB, per worker): start {g['start_mb']}, end "
                  f"{g['end_mb']}, peak {g['peak_mb']:.0f}. "
                  + ("Growth minute 2 -> 3: n/a (the run is shorter than 3 minutes)."
                     if growth is None else
                     "Growth from the second to the third minute (median of each minute's "
                     f"samples): { {p: f'{100 * x:.1f}%' for p, x in growth['growth'].items()} }, "
                     f"target <= {100 * TARGET_RSS_GROWTH:.0f}% -> "
                     f"{verdict((growth['max_growth'] or 0) <= TARGET_RSS_GROWTH)}; single "
                     f"samples at t={growth['t'][0]} and {growth['t'][1]} s: "
                     f"{ {p: f'{100 * x:.1f}%' for p, x in growth['instant_growth'].items()} }"
                     + (f"; workers replaced: {growth['workers_replaced']}"
                        if growth["workers_replaced"] else "") + ".")]
        if "restart" in r:
            o = r["restart"]
            lines += [f"* PostgreSQL restart (`pg_ctl restart -m fast`) at "
                      f"{o['command_start']} s: down {o.get('down_s')} s (pg_ctl took "
                      f"{o.get('pg_ctl_s')} s). Failed requests overlapping the outage: "
                      f"{o['during']['failed']} of {o['during']['requests']} "
                      f"{o['during']['failures']}; in the 10 s after: "
                      f"{o['next_10s']['failed']} of {o['next_10s']['requests']} "
                      f"{o['next_10s']['failures']}; all others: {o['outside']['failed']} of "
                      f"{o['outside']['requests']} {o['outside']['failures']} (target: errors "
                      f"only while it is down -> {verdict(o['outside']['failed'] == 0)})."]
        lines += ["", "Failures per 10 s of the run (requests started): "
                  + ", ".join(f"{w['t']}s {w['failed']}/{w['requests']}"
                              for w in r["errors_by_10s"]), ""]
        sl = r["server_log"]
        lines += [f"Server log: {sl['error_records']} ERROR records ({sl['tracebacks']} "
                  f"tracebacks, chained ones counted apart); access log statuses "
                  f"{sl['access_log_statuses']}. By logged line | last exception | innermost "
                  "frame in app/:", ""]
        lines += [f"* {n} x `{e}`" for e, n in sl["errors"]] or ["* none"]
        lines += ["", "(Starlette re-raises after the app's 500 answer, so each unhandled error "
                  "is logged twice: once by the app, once as \"Exception in ASGI application\" "
                  "by uvicorn, which then closes that keep-alive connection: the client's next "
                  "request on it can fail with a connection error. Errors under "
                  "`second_stage_job` come after the 201 was sent: the client saw success and "
                  "the image is left without its second stage.)"]
        lines += ["", "Failed answers (a few bodies per operation and status):", ""]
        lines += [f"* {k}: " + " / ".join(f"`{b[:200]}`" if b else "(no answer)" for b in v)
                  for k, v in sorted(r["failure_bodies"].items())] or ["* none"]
        if "postgres_log" in r:
            pl = r["postgres_log"]
            lines += ["", f"PostgreSQL log: {pl['deadlocks']} deadlocks, "
                      f"{pl['lock_waits_over_1s']} lock waits over 1 s; errors:", ""]
            lines += [f"* {n} x `{e}`" for e, n in pl["errors"] + pl["fatal"]] or ["* none"]
            if pl["deadlock_examples"]:
                lines += ["", "First deadlock reported:", "", "```",
                          pl["deadlock_examples"][0], "```"]
        lines += [""]
    lines += ["## Set-up", ""]
    for name, r in res["databases"].items():
        lines += [f"* {name}: rows before the load {r['rows_before']}; seed through the API "
                  f"{r['seed']['counts']} in {r['seed']['seconds']} s "
                  f"({r['seed']['prisoners_with_accounts']} prisoners with attributed "
                  f"accounts); server ready in {r['server_ready_s']} s."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=["postgres", "sqlite", "both"], default="postgres")
    ap.add_argument("--analysts", type=int, default=0,
                    help="default 50 on PostgreSQL, 20 on SQLite")
    ap.add_argument("--seconds", type=int, default=90)
    ap.add_argument("--name", default="",
                    help="results go to bench/results/load-NAME.{md,json} (default: load.*)")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean think time in seconds between an answer and the analyst's next "
                         "request (exponential; 0: none, each analyst sends back to back)")
    ap.add_argument("--web-workers", type=int, default=0,
                    help="default 4 on PostgreSQL, 1 on SQLite")
    ap.add_argument("--restart-postgres", action="store_true",
                    help="restart the cluster (pg_ctl restart -m fast) half-way")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cellwatch-bench-load"))
    ap.add_argument("--budget-off", action="store_true",
                    help="lift the read budgets (a saturation run sends far more reads an hour "
                         "than a person does); every other limit stays as shipped")
    args = ap.parse_args()
    global BUDGET_OFF
    BUDGET_OFF = args.budget_off
    args.workdir = args.workdir.resolve()
    print("images ...", flush=True)
    images = render_images(args.workdir)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    res: dict[str, Any] = {
        "command": " ".join(["python -m bench.load", *sys.argv[1:]]),
        "read_budgets": "lifted" if BUDGET_OFF else "as shipped",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
                    "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "mix": MIX, "targets_p95_ms": TARGET_P95_MS, "databases": {}}
    name = f"load-{args.name}" if args.name else "load"
    for kind in (["postgres", "sqlite"] if args.db == "both" else [args.db]):
        print(f"{kind}:", flush=True)
        res["databases"][kind] = run_one(kind, args, images)
        RESULTS.mkdir(exist_ok=True)  # the figures first, whatever happens to the report
        (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
        md = report(res)
        write_results(name, res, md)
    print(md)
    print(f"written: {RESULTS / (name + '.md')}, {RESULTS / (name + '.json')}; server and "
          f"database logs under {args.workdir}")


if __name__ == "__main__":
    main()
