"""Time the audit prune (retention) on a SQLite log of N events, most of them past the rule.

    .venv/bin/python -m bench.audit_prune [--events 20000] [--old 0.8]

Links the events, verifies, prunes the old share (which verifies the whole chain first), then
verifies again from the anchor. Writes bench/results/audit_prune.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from app import migrations
from app.audit.linker import link_all
from app.audit.models import AuditEvent
from app.audit.prune import prune_audit
from app.audit.service import SYSTEM
from app.audit.verify import verify_chain
from app.db import make_engine, make_session_factory, utcnow
from app.settings import Settings

RESULTS = Path(__file__).parent / "results" / "audit_prune.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--old", type=float, default=0.8, help="share past the rule")
    args = parser.parse_args()
    key = Settings().audit_key_bytes
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrations.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        old = int(args.events * args.old)
        with factory() as s:
            for n in range(args.events):
                when = utcnow() - timedelta(days=800 if n < old else 1)
                s.add(AuditEvent(occurred_at=when, actor_name="bench", action="bench.event",
                                 object_ids=f'["{n}"]', details=json.dumps({"n": n})))
            s.commit()
        timings: dict[str, float] = {}
        start = time.perf_counter()
        link_all(engine, factory, key=key)
        timings["link_s"] = time.perf_counter() - start
        with factory() as s:
            start = time.perf_counter()
            assert verify_chain(s, key=key).ok
            timings["verify_before_s"] = time.perf_counter() - start
            start = time.perf_counter()
            done = prune_audit(s, SYSTEM, key=key, before=utcnow() - timedelta(days=730),
                               checkpoint=None)
            s.commit()
            timings["prune_s"] = time.perf_counter() - start
        link_all(engine, factory, key=key)
        with factory() as s:
            start = time.perf_counter()
            after = verify_chain(s, key=key)
            timings["verify_after_s"] = time.perf_counter() - start
        engine.dispose()
    result = {"events": args.events, "pruned": done.events, "verify_after_ok": after.ok,
              "checked_after": after.checked, **{k: round(v, 2) for k, v in timings.items()}}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
