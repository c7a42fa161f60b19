"""What scrubbing the key part folder costs one erasure: every key part is read and written again.

Run: nice .venv/bin/python -m bench.key_scrub [--keys 100000] [--parts 5]
Writes `--parts` key parts of `--keys` image keys each (as `cellwatch backup` does) into a
throwaway folder, then times `keyparts.scrub` removing one key from all of them (what a
withdrawal waits for after its commit), and removing a key no part holds (nothing rewritten).
Writes bench/results/key_scrub.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from app.backup import keyparts
from app.backup.snapshot import HeldKey
from app.db import utcnow

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=5)
    args = parser.parse_args()
    backup_key = os.urandom(32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        held = [HeldKey(n, secrets.token_hex(16), "1", os.urandom(40))
                for n in range(1, args.keys + 1)]
        for p in range(args.parts):
            when = utcnow() - timedelta(days=p)
            keyparts.write(folder / keyparts.file_name(when), backup_key, when, held)
        size = sum(path.stat().st_size for path in keyparts.parts_in(folder))
        with keyparts.locked(folder):
            start = time.perf_counter()
            rewritten, removed = keyparts.scrub(folder, backup_key, {held[0].storage_key})
            one = time.perf_counter() - start
            start = time.perf_counter()
            untouched = keyparts.scrub(folder, backup_key, {secrets.token_hex(16)})
            none = time.perf_counter() - start
    result = {"keys_per_part": args.keys, "parts": args.parts, "folder_bytes": size,
              "scrub_one_key_seconds": round(one, 2), "parts_rewritten": rewritten,
              "copies_removed": removed, "scrub_absent_key_seconds": round(none, 2),
              "absent_rewritten": untouched[0], "load_before": os.getloadavg()[0]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "key_scrub.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "key_scrub.md").write_text(
        f"# Key part scrub\n\n{args.parts} key parts of {args.keys:,} image keys "
        f"({size / 1e6:.0f} MB): removing one key from all of them took {one:.2f} s "
        f"({rewritten} parts rewritten); a key none holds, {none:.2f} s (none rewritten).\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
