"""schemathesis against a real `cellwatch serve`: every `/api/v1` operation, all checks.

A fresh SQLite database holds the demo estate (a smaller one: two cells a landing), so ids,
codes and prison numbers the run tries often name real records. One API key of a supervisor
reaches every operation but the audit log, which an auditor's key reaches. The run is bounded
(a fixed number of cases per operation) and deterministic, so CI sees the same cases each time.
What a rule outside the schema may refuse (an unknown id named in a body, a state that forbids
the step, a cross-field rule) is declared, operation by operation, with its reason, in
`schemathesis.toml` beside this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app import migrations
from app.audit.service import Actor
from app.auth import apikeys, users
from app.db import make_engine
from app.demo.build import build_demo
from app.settings import Settings
from tests.test_request_errors import _free_port

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis.toml"
EXAMPLES = 25  # cases per operation and phase: about a minute of requests on 2 cores
SECONDS = 300  # each run's cap (it takes about a minute): a hang fails instead of stalling CI
ACTOR = Actor(user_id=None, name="schemathesis", client_addr="127.0.0.1", request_id="fuzz")
AUDIT = "/api/v1/audit"


@dataclass(frozen=True)
class Live:
    url: str
    keys: dict[str, str]  # role -> API key
    config: Path
    log: Path  # the server's output: a traceback behind a 500 is here

    def server_log(self) -> str:
        return self.log.read_text()[-4000:]


# Path and body parameters that name records: more than half the cases use one the demo holds
# (the rest are generated), so that operations get past "not found" to their real work.
NAMED = {
    "path.code": "SELECT code FROM establishment",
    "path.label": "SELECT DISTINCT label FROM cell",
    "body.establishment_code": "SELECT code FROM establishment",
    "body.cell_label": "SELECT DISTINCT label FROM cell",
    "path.number": "SELECT prison_number FROM prisoner",
    "path.prison_number": "SELECT prison_number FROM prisoner",
    "path.cell_id": "SELECT cell_id FROM reference_photo",
    "path.photo_id": "SELECT id FROM reference_photo",
    "path.stay_id": "SELECT id FROM occupancy",
    "path.account_id": "SELECT id FROM account",
    "body.account_id": "SELECT id FROM account",
    "path.image_id": "SELECT id FROM image",
    "path.match_id": "SELECT id FROM \"match\" WHERE status = 'pending'",
    "path.attribution_id": "SELECT id FROM attribution",
    "body.attribution_id": "SELECT id FROM attribution WHERE status = 'confirmed'",
    "path.takedown_id": "SELECT id FROM takedown",
    "path.search_id": "SELECT id FROM cell_search",
}


def _config(url: str, folder: Path) -> Path:
    """schemathesis.toml with dictionaries of what this database holds."""
    engine = make_engine(url)
    lines = [CONFIG.read_text(), "\n[parameters]"]
    dictionaries = []
    with engine.connect() as db:
        for n, (key, query) in enumerate(NAMED.items()):
            values = [row[0] for row in db.exec_driver_sql(f"{query} ORDER BY 1 LIMIT 12")]
            if values:
                dictionaries.append(f"[dictionaries.d{n}]\nvalues = {json.dumps(values)}")
                lines.append(f'"{key}" = {{ dictionary = "d{n}", probability = 0.6 }}')
    engine.dispose()
    path = folder / "schemathesis.toml"
    path.write_text("\n".join(lines + dictionaries) + "\n")
    return path


def _keys(settings: Settings) -> dict[str, str]:
    engine = make_engine(settings.effective_database_url)
    keys = {}
    with Session(engine) as db:
        for role in ("supervisor", "auditor"):
            user, _ = users.create_user(db, ACTOR, username=f"fuzz-{role}", role=role,
                                        password="violet kettle under lamplight")
            user.must_change_password = False
            db.add(user)
            keys[role] = apikeys.create(db, settings, ACTOR, user, name="fuzz", days=1)[1]
        db.commit()
    engine.dispose()
    return keys


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'cellwatch.db'}"
    migrations.upgrade(url)
    settings = Settings(data_dir=folder / "data", database_url=url, match_workers=0)
    engine = make_engine(url)
    build_demo(engine, settings, seed=1, cells_per_landing=2, workers=1, say=lambda _: None)
    engine.dispose()
    keys = _keys(settings)
    port = _free_port()
    env = {**os.environ, "CELLWATCH_DATA_DIR": str(settings.data_dir),
           "CELLWATCH_DATABASE_URL": url, "CELLWATCH_PORT": str(port),
           "CELLWATCH_MATCH_WORKERS": "0",
           # No read budget: one key sends thousands of reads a minute here, and a 429 for
           # each after the first 1,500 would test nothing else (tests/audit covers budgets).
           "CELLWATCH_READ_BUDGET_PER_HOUR": "0"}
    log_path = folder / "serve.log"
    log = log_path.open("w")
    server = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                               "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts slowly: not a speed check
        while not _ready(base):
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("cellwatch serve did not become ready:\n"
                            + log_path.read_text()[-4000:])
            time.sleep(0.3)
        yield Live(base, keys, _config(url, folder), log_path)
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _run(live: Live, role: str, only: list[str], folder: Path) -> dict:
    report = folder / f"{role}.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(live.config), "run",
        f"{live.url}/openapi.json", "-H", f"Authorization: Bearer {live.keys[role]}",
        # deterministic: the same cases every run, and no example database between runs
        "--checks", "all", "--max-examples", str(EXAMPLES), "--generation-deterministic",
        "--workers", "1", "--no-color",
        "--report", "json", "--report-json-path", str(report), *only]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS, check=False,
                          cwd=folder)  # its own files (.schemathesis) stay out of the repository
    (folder / f"{role}.txt").write_text(done.stdout + done.stderr)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    result["output"] = done.stdout
    return result


def _figures(result: dict) -> str:
    cases = result["test_cases"]
    kinds = ", ".join(f"{f['code']} {f['title']}: {f['count']}" for f in result["failures"])
    return (f"{result['operations']['tested']} operations, {cases['generated']} cases, "
            f"{cases['unique_failures']} failures ({kinds or 'none'}), "
            f"{result['running_time']:.0f} s")


def test_every_api_operation_holds_under_schemathesis(live: Live, tmp_path: Path,
                                                        record_property) -> None:
    """No server error, no invalid input accepted, no schema-valid input refused, every
    status, header and body as documented: for every operation, with the key of a role that
    may use it."""
    runs = {"supervisor": _run(live, "supervisor", ["--exclude-path", AUDIT], tmp_path),
            "auditor": _run(live, "auditor", ["--include-path", AUDIT], tmp_path)}
    for role, result in runs.items():
        record_property(f"schemathesis {role}", _figures(result))
        print(f"schemathesis as {role}: {_figures(result)}")
    tested = sum(r["operations"]["tested"] for r in runs.values())
    document = httpx.get(f"{live.url}/openapi.json").json()
    assert tested == sum(len(item) for item in document["paths"].values())
    for role, result in runs.items():
        assert result["operations"]["errored"] == 0, result["output"][-6000:]
        assert result["failures"] == [], (f"as {role}: {_figures(result)}\n"
                                          + result["output"][-12000:] + live.server_log())
