"""Data for bench/takedowns_scale.py: bulk-inserted takedowns, notices and evidence packs, and a
local webhook that accepts every notice."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing as mp
import random
import secrets
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, insert

from app.accounts.models import Account
from app.accounts.platforms import Platform
from app.auth.models import User
from app.auth.passwords import hash_password
from app.db import utcnow
from app.estate.models import Establishment
from app.settings import Settings
from app.takedowns import packfiles
from app.takedowns.models import Notice, PlatformSettings, Takedown
from app.takedowns.notice_text import DEFAULT_TEMPLATE

PASSWORD = "bench password 123"
CHUNK = 10_000
STATES = [("draft", 4), ("awaiting_approval", 4), ("approved", 3), ("sent", 20),
          ("acknowledged", 10), ("removed", 40), ("refused", 12), ("withdrawn", 7)]
WITH_NOTICES = {"sent", "acknowledged", "removed", "refused"}


@dataclass
class Sizes:
    takedowns: int = 100_000
    notices: int = 300_000
    accounts: int = 50_000
    due: int = 10_000
    establishments: int = 20

    @classmethod
    def quick(cls) -> Sizes:
        return cls(10_000, 30_000, 5_000, 1_000, 20)


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.count.get_lock():  # type: ignore[attr-defined]
            self.server.count.value += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # read by listen() in the constructor
    daemon_threads = True


def _serve(port: Any, count: Any, ready: Any) -> None:
    server = _Server(("127.0.0.1", 0), _Sink)
    server.count = count  # type: ignore[attr-defined]
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


class WebhookSink:
    """A platform's webhook on 127.0.0.1, in its own process (the platform is another machine,
    so it must not share the job runner's interpreter), counting what it receives."""

    def __enter__(self) -> WebhookSink:
        self._count, port, ready = mp.Value("i", 0), mp.Value("i", 0), mp.Event()
        self._process = mp.Process(target=_serve, args=(port, self._count, ready), daemon=True)
        self._process.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{port.value}/hook"
        return self

    @property
    def received(self) -> int:
        return int(self._count.value)

    @received.setter
    def received(self, value: int) -> None:
        self._count.value = value

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(5)


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start:start + CHUNK])


def _pack(settings: Settings, takedown_id: int, handle: str) -> tuple[str, str]:
    """A small real pack (manifest only), sealed where the app looks for it."""
    manifest = {"reference": f"TD-{takedown_id}", "account": {"platform": "instagram",
                "handle": handle, "url": ""}, "images": [], "chain_of_custody": []}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    data = buffer.getvalue()
    key = secrets.token_hex(16)
    path = packfiles.path_for(settings, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(packfiles.seal(settings, key, data))
    return key, hashlib.sha256(data).hexdigest()


def generate(engine: Engine, settings: Settings, sizes: Sizes, hook: str) -> dict[str, int]:
    rng = random.Random(7)
    now = utcnow()
    _insert(engine, User, [
        {"username": name, "display_name": "", "role": role, "password_hash": hash_password(
            PASSWORD), "must_change_password": False, "is_active": True, "failed_logins": 0,
         "created_at": now} for name, role in (("bench-analyst", "analyst"),
                                               ("bench-sup", "supervisor"))])
    _insert(engine, Establishment, [{"code": f"E{i:02d}", "name": f"Prison {i}", "category": "",
                                     "region": "", "updated_at": now}
                                    for i in range(sizes.establishments)])
    platforms = list(Platform)
    _insert(engine, PlatformSettings, [{"platform": p.value, "channel": "webhook",
                                        "address": hook, "renotice_hours": 24,
                                        "target_hours": 24, "template": DEFAULT_TEMPLATE,
                                        "updated_at": now} for p in platforms])
    _insert(engine, Account, [{
        "platform": platforms[i % len(platforms)].value, "handle": f"bench_{i}",
        "numeric_id": False, "status": "takedown_requested", "priority": 0,
        "priority_factors": "{}", "establishment_id": 1 + i % sizes.establishments,
        "image_count": 0, "closed_reason": "", "notes": "", "version": 1, "created_at": now,
        "updated_at": now} for i in range(sizes.accounts)])
    names, weights = zip(*STATES, strict=True)
    takedowns, states = [], []
    for i in range(sizes.takedowns):
        tid = i + 1
        state = "sent" if i < sizes.due else rng.choices(names, weights)[0]
        sent_at = now - timedelta(hours=rng.uniform(1, 24 * 30))
        target = now + timedelta(hours=rng.uniform(-48, 24))
        row = {"id": tid, "account_id": 1 + i % sizes.accounts,
               "platform": platforms[(i % sizes.accounts) % len(platforms)].value,
               "state": state, "reason": "Posting photographs from inside a prison cell.",
               "version": 3, "author_id": 1, "approver_id": None, "claimed_by": None,
               "claimed_at": None, "notices_sent": 0, "escalated": False, "overdue": False,
               "platform_reference": "", "refusal_reason": "", "created_at": sent_at,
               "first_sent_at": None, "acknowledged_at": None, "resolved_at": None,
               "next_notice_due_at": None, "target_due_at": None}
        if state in WITH_NOTICES:
            row |= {"approver_id": 2, "first_sent_at": sent_at, "target_due_at": target,
                    "overdue": target < now - timedelta(hours=12)}
        if state in ("sent", "acknowledged"):
            due = (now - timedelta(minutes=rng.uniform(1, 600)) if i < sizes.due
                   else now + timedelta(hours=rng.uniform(0.5, 24)))
            row["next_notice_due_at"] = due
        if state in ("removed", "refused", "withdrawn"):
            row["resolved_at"] = sent_at + timedelta(hours=rng.uniform(0.5, 72))
        takedowns.append(row)
        states.append(state)
    # notices: one for each due takedown (with a real pack), the rest spread over the others
    eligible = [t for t in takedowns[sizes.due:] if t["state"] in WITH_NOTICES]
    rest = sizes.notices - sizes.due
    base, extra = divmod(rest, len(eligible))
    notices: list[dict[str, Any]] = []
    body = "Takedown request. " * 20

    def notice(t: dict[str, Any], n: int, key: str = "", sha: str = "0" * 64) -> None:
        notices.append({"takedown_id": t["id"], "number": n, "channel": "webhook",
                        "recipient": hook, "subject": f"Takedown request TD-{t['id']}",
                        "body": body, "pack_sha256": sha, "pack_key": key,
                        "delivery": "delivered", "error": "", "sent_by": 1, "attempts": 1,
                        "sent_at": t["first_sent_at"] + timedelta(hours=24 * (n - 1))})

    for t in takedowns[:sizes.due]:
        key, sha = _pack(settings, t["id"], f"bench_{t['account_id'] - 1}")
        t["notices_sent"] = 1
        notice(t, 1, key, sha)
    for j, t in enumerate(eligible):
        t["notices_sent"] = base + (1 if j < extra else 0)
        for n in range(1, t["notices_sent"] + 1):
            notice(t, n)
    _insert(engine, Takedown, takedowns)
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequence past them
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('takedown_id_seq', (SELECT max(id) FROM "
                                 "takedown))")
    _insert(engine, Notice, notices)
    return {"takedowns": len(takedowns), "notices": len(notices), "accounts": sizes.accounts,
            "due": sizes.due, **{s: states.count(s) for s, _ in STATES}}
