"""A unit at work at once, on PostgreSQL: uploads, audited reads and takedown moves from many
threads against a real server. No error reaches anyone, every event is linked into the chain
once the linker has run, and the chain verifies."""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from app import migrations
from app.accounts.models import Account
from app.audit.linker import link_all
from app.audit.service import SYSTEM
from app.audit.verify import verify_chain
from app.auth import apikeys
from app.auth.models import User
from app.db import make_engine, make_session_factory, unit_of_work
from app.estate import service as estate
from app.evidence.images import ingest_image
from app.evidence.models import EvidenceImage
from app.main import create_app
from app.matching import worker as match_worker
from app.matching.queue import backlog
from app.settings import Settings
from tests.conftest import AUDIT_KEY, PASSWORD
from tests.evidence import samples
from tests.matching import scenes
from tests.support.postgres import create_database
from tests.test_request_errors import _free_port

pytestmark = pytest.mark.postgres
PURPOSE = "investigating the account that posted from A-1-001"


@pytest.fixture
def unit(pg_server, tmp_path):
    """A fresh database, its people and estate, and the real server with a match worker."""
    url = create_database(pg_server, f"unit_{uuid.uuid4().hex[:10]}")
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, audit_link_seconds=0.2)
    keys: dict[str, str] = {}
    with unit_of_work(factory) as s:
        est = estate.create_establishment(s, SYSTEM, code="MDI", name="Moorland")
        for n in range(1, 4):
            estate.create_cell(s, SYSTEM, establishment=est, label=f"A-1-00{n}")
            estate.create_prisoner(s, SYSTEM, prison_number=f"A100{n}BC", surname="Smith",
                                   forenames=f"John {n}", date_of_birth=date(1990, 1, n))
        for name, role in (("ana", "analyst"), ("bob", "analyst"), ("sue", "supervisor"),
                           ("sam", "supervisor")):
            user = User(username=name, role=role, password_hash=PASSWORD,
                        must_change_password=False)
            s.add(user)
            s.flush()
            keys[name] = apikeys.create(s, settings, SYSTEM, user, name="load", days=1)[1]
        for n in range(6):  # each with one image, for its takedown to carry
            account = Account(platform="instagram", handle=f"suspect_{n}")
            s.add(account)
            s.flush()
            image, _ = ingest_image(s, settings, SYSTEM, data=samples.jpeg(seed=900 + n),
                                    filename=f"suspect_{n}.jpg")
            s.add(EvidenceImage(image_id=image.id, account_id=account.id))
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    served = threading.Thread(target=server.run, daemon=True)
    served.start()
    stop = threading.Event()
    matcher = threading.Thread(target=match_worker.run, args=(settings, stop), daemon=True)
    matcher.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    def halt() -> None:  # the unit goes home: nothing more is recorded after this
        stop.set()
        matcher.join(10)
        server.should_exit = True
        served.join(10)

    yield f"http://127.0.0.1:{port}", keys, engine, factory, halt
    halt()
    engine.dispose()


def _client(base, key):
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_a_unit_at_work_at_once_sees_no_error_and_keeps_its_chain(unit):
    base, keys, engine, factory, halt = unit
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def note(response):
        with lock:
            statuses[response.status_code] += 1
        return response

    def uploads(n):
        with _client(base, keys["ana" if n % 2 else "bob"]) as c:
            for i in range(4):
                data = scenes.repost(scenes.room(n * 10 + i % 2), quality=60 + i)
                note(c.post("/api/v1/images", files=[("files", (f"{n}-{i}.jpg", data,
                                                                "image/jpeg"))]))

    def reads(n):
        with _client(base, keys["bob"]) as c:
            for i in range(6):
                note(c.post("/api/v1/prisoners/search",
                            json={"surname": "smith", "forename": "jo"}))
                note(c.post(f"/api/v1/prisoners/A100{i % 3 + 1}BC/dossier",
                            json={"purpose": PURPOSE}))
                note(c.get("/api/v1/accounts"))

    def takedowns(n):
        with _client(base, keys["ana"]) as drafter, _client(base, keys["sue"]) as sup1, \
                _client(base, keys["sam"]) as sup2:
            for account_id in (n * 3 + 1, n * 3 + 2, n * 3 + 3):
                with engine.connect() as conn:
                    evidence = [r[0] for r in conn.execute(text(
                        "SELECT id FROM evidence_image WHERE account_id = :a"),
                        {"a": account_id})]
                made = note(drafter.post("/api/v1/takedowns", json={
                    "account_id": account_id, "reason": "posting from inside a cell",
                    "evidence_ids": evidence, "legal_basis": "Prison Act 1952, section 40D",
                    "contact": "Unit, du@prisons.example", "good_faith": True}))
                td = made.json()
                moved = note(drafter.post(f"/api/v1/takedowns/{td['id']}/transitions",
                                          json={"action": "submit", "version": td["version"]}))
                version = moved.json()["version"] if moved.is_success \
                    else td["version"] + 1
                # two supervisors act on the same version at once: one wins, one gets 409
                for sup, action in ((sup1, "approve"), (sup2, "return")):
                    note(sup.post(f"/api/v1/takedowns/{td['id']}/transitions",
                                  json={"action": action, "version": version,
                                        "note": "checked"}))

    jobs = [(uploads, n) for n in range(4)] + [(reads, n) for n in range(4)] + \
        [(takedowns, n) for n in range(2)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        for future in [pool.submit(job, n) for job, n in jobs]:
            future.result()

    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses[201] >= 16 + 6  # every upload stored, every takedown drafted
    with factory() as s:  # every stored image gets its second stage from the match worker
        deadline = time.monotonic() + 60
        while backlog(s).waiting and time.monotonic() < deadline:
            time.sleep(0.2)
        assert backlog(s).waiting == 0 and backlog(s).failed == 0
    # the linker (and a last pass here, once the server and the worker have stopped and
    # nothing more can be recorded) chains them all
    halt()
    link_all(engine, factory, key=AUDIT_KEY)
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
        assert result.ok, result.reason
        late = s.execute(text("SELECT action, occurred_at, actor_name FROM audit_event "
                              "WHERE seq IS NULL")).all() if result.lag.unlinked else []
        assert result.lag.unlinked == 0, late  # names what came after the last link
        assert result.checked == s.execute(text("SELECT count(*) FROM audit_event")).scalar()
