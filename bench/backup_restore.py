"""Backup, verify, restore and master key rotation of a library of sealed images.

Run: nice .venv/bin/python -m bench.backup_restore [--images 400] [--side 1080]
On SQLite and on PostgreSQL (a throwaway cluster): N photo-sized JPEGs stored through the
intake service (sealed original and display copy), then `write_backup`, `verify_backup`,
`restore_backup` onto an empty folder and database, and `rewrap_images` to a new master key.
Figures: seconds for each step, the backup's size and the rate it was written at. Writes
bench/results/backup_restore.{json,md}.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app import migrations
from app.audit.service import Actor
from app.backup.restore import restore_backup
from app.backup.service import write_backup
from app.backup.verify import verify_backup
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence import images
from app.keys.rotation import rewrap_images
from app.settings import Settings
from bench.scale_support import postgres_server, write_results

ACTOR = Actor(user_id=None, name="bench", client_addr="local")
KEYS = {n: base64.b64encode(bytes([n]) * 32).decode() for n in (1, 2, 3)}


def photo(seed: int, side: int) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (side // 16, side // 12, 3), dtype=np.uint8)
    picture = Image.fromarray(small).resize((side * 4 // 3, side), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    return out.getvalue()


def settings_for(kind: str, folder: Path, server: str | None, *, migrate: bool) -> Settings:
    values: dict[str, Any] = {"data_dir": folder, "audit_link_seconds": 0, "match_workers": 0,
                              "master_key": KEYS[1], "backup_key": KEYS[3]}
    if kind == "postgres":
        from tests.support.lifecycle import empty_postgres, grant

        assert server is not None
        owner, app = empty_postgres(server)
        values.update(database_url=app, migrate_database_url=owner)
    settings = Settings(**values)
    folder.mkdir(mode=0o700, parents=True)
    if migrate:
        migrations.upgrade(settings.effective_migrate_url)
        if kind == "postgres":
            grant(settings)
    return settings


def run(kind: str, root: Path, server: str | None, count: int, side: int) -> dict[str, Any]:
    live = settings_for(kind, root / "live", server, migrate=True)
    engine = make_engine(live.effective_database_url)
    factory = make_session_factory(engine)
    stored = 0
    for seed in range(count):
        data = photo(seed, side)
        with unit_of_work(factory) as session:
            prepared = images.prepare(session, live, data=data, filename="p.jpg",
                                      features=False)
            images.store(session, live, ACTOR, prepared)
        stored += len(data)
    started = time.perf_counter()
    body = write_backup(live, root / "backup", ACTOR)
    backup_s = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (root / "backup").iterdir())
    started = time.perf_counter()
    verify_backup(live, root / "backup")
    verify_s = time.perf_counter() - started
    target = settings_for(kind, root / "restored", server, migrate=False)
    started = time.perf_counter()
    restore_backup(target, root / "backup", ACTOR)
    restore_s = time.perf_counter() - started
    rotated = live.model_copy(update={"master_key": KEYS[2], "master_key_id": "2",
                                      "old_master_keys": {"1": KEYS[1]}})
    started = time.perf_counter()
    moved = rewrap_images(factory, rotated, ACTOR, batch_size=500)
    rotate_s = time.perf_counter() - started
    engine.dispose()
    return {"database": kind, "images": body["images"], "originals_mb": stored / 2**20,
            "backup_mb": size / 2**20, "backup_s": backup_s,
            "backup_mb_per_s": size / 2**20 / backup_s, "verify_s": verify_s,
            "restore_s": restore_s, "rewrapped": moved, "rotate_s": rotate_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--side", type=int, default=1080)
    args = parser.parse_args()
    rows, load_before = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(run("sqlite", Path(tmp) / "sqlite", None, args.images, args.side))
        with postgres_server() as server:
            rows.append(run("postgres", Path(tmp) / "postgres", server, args.images, args.side))
    lines = ["# Backup, verify, restore, key rotation", "",
             f"{args.images} JPEGs of {args.side * 4 // 3}x{args.side} (sealed original + "
             "display copy each); one run each, shared 2-core machine, niced; load average "
             f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after.", "",
             "| database | images | originals MB | backup MB | backup s | MB/s | verify s | "
             "restore s | keys re-wrapped | rotation s |", "|---" * 10 + "|"]
    lines += [f"| {r['database']} | {r['images']} | {r['originals_mb']:.1f} | "
              f"{r['backup_mb']:.1f} | {r['backup_s']:.2f} | {r['backup_mb_per_s']:.0f} | "
              f"{r['verify_s']:.2f} | {r['restore_s']:.2f} | {r['rewrapped']} | "
              f"{r['rotate_s']:.2f} |" for r in rows]
    write_results("backup_restore", {"images": args.images, "side": args.side, "runs": rows,
                                     "load_before": load_before,
                                     "load_after": os.getloadavg()[0]},
                  "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
