"""Browser fixtures: Debian's Chromium, driven by Playwright, against a real uvicorn server.

Every test gets its own server on a free port of 127.0.0.1, serving its own migrated SQLite
file, and its own browser context (cookies, storage). Only the Chromium process is shared.
Never a Playwright-downloaded browser: the system one at `chromium` on the PATH, or a skip
(a failure under CI=true).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import migrations
from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.auth import users
from app.auth.models import User
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.matching import worker as match_worker
from app.settings import Settings
from tests.support.factors import enrol, totp_code
from tests.support.requirements import unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

# The machine has no network: without these, Chromium reaches out to Google's hosts.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BROWSER_ACTOR = Actor(user_id=None, name="browser-test", client_addr="127.0.0.1",
                      request_id="browser-test")
# Long enough for the policy, and free of every username the tests use.
GOOD_PASSWORD = "violet kettle under lamplight"


# ---------------------------------------------------------------- Chromium through Playwright

@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        unavailable("no `chromium` on the PATH (browser tests drive the system Chromium; "
                    "on Debian: apt-get install chromium)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package `playwright` is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright, chromium_path: str) -> Iterator[Browser]:
    chromium = playwright_instance.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, timeout=30_000,
    )
    yield chromium
    chromium.close()


@pytest.fixture
def expect() -> Callable[..., Any]:
    """Playwright's auto-waiting assertions, imported only once Playwright is known present."""
    from playwright.sync_api import expect as pw_expect

    pw_expect.set_options(timeout=5_000)
    return pw_expect


# ---------------------------------------------------------------- the app's database

@dataclass
class AppDB:
    """Direct access to the live server's database, for arranging users and checking results."""

    url: str
    settings: Settings
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        self._factory = make_session_factory(self.engine)

    def session(self) -> Session:
        return self._factory()

    def bootstrap_admin(self) -> str:
        """The first-run `admin`; returns its one-time password."""
        with self.session() as db:
            secret = users.bootstrap_admin(db, BROWSER_ACTOR)
            db.commit()
        assert secret, "bootstrap_admin needs an empty database"
        return secret

    def create_user(self, username: str, role: str, password: str = GOOD_PASSWORD,
                    *, ready: bool = True) -> str:
        """A user with a known password; `ready` clears the change-at-first-sign-in flag and
        gives them an authenticator (sign_in answers its code)."""
        with self.session() as db:
            user, secret = users.create_user(db, BROWSER_ACTOR, username=username, role=role,
                                             password=password)
            if ready:
                user.must_change_password = False
                db.add(user)
                enrol(db, self.settings, user)
            db.commit()
        return secret

    def totp_code(self, username: str) -> str:
        """The next code the server accepts from this user's authenticator."""
        return totp_code(self.session, self.settings, username)

    def user(self, username: str) -> User | None:
        with self.session() as db:
            return users.find_user(db, username)

    def audit(self, action: str) -> list[AuditEvent]:
        with self.session() as db:
            return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(col(AuditEvent.id))).all())

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file (the migrations themselves are tested elsewhere)."""
    path = tmp_path_factory.mktemp("browser-template") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists(), "template left a WAL behind"
    return path


# ---------------------------------------------------------------- servers

def _bound_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    port: int
    db: AppDB
    settings: Settings


@pytest.fixture
def live_server(tmp_path: Path, migrated_template: Path) -> Iterator[LiveServer]:
    """A real uvicorn serving a fresh app on its own SQLite file, in a background thread."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db_file = tmp_path / "b.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite:///{db_file}"
    migrations.upgrade(url)  # a no-op at head; keeps the "migrated with upgrade()" contract
    settings = Settings(data_dir=data_dir, database_url=url)
    with serve_live(url, settings) as server:
        yield server


@contextmanager
def serve_live(url: str, settings: Settings | Callable[[int], Settings]) -> Iterator[LiveServer]:
    """The app for `settings` served by uvicorn in a background thread, with a match worker
    beside it as `cellwatch serve` starts one; both stopped on leaving. `settings` may be a
    function of the port, for settings that name the server's own origin."""
    sock = _bound_socket("127.0.0.1")
    port = sock.getsockname()[1]
    if callable(settings):
        settings = settings(port)
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)

    # a match worker beside it, as `cellwatch serve` starts one: second stages come from it
    stop_matcher = threading.Event()
    matcher = threading.Thread(target=match_worker.run, args=(settings, stop_matcher),
                               name=f"matcher-{port}", daemon=True)
    matcher.start()
    db = AppDB(url, settings)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", port=port, db=db, settings=settings)
    finally:
        stop_matcher.set()
        matcher.join(timeout=10)
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        db.dispose()
        app.state.engine.dispose()
        assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile; closed before the server stops (it depends on it)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(5_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@dataclass
class OtherSite:
    """A tiny plain HTTP server standing in for a page on another origin."""

    host: str
    port: int
    pages: dict[str, str]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
def other_site() -> Iterator[Callable[[str], OtherSite]]:
    """Factory: `other_site(host)` serves `site.pages[path]` (HTML) from http://host:<port>."""
    started: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(host: str) -> OtherSite:
        pages: dict[str, str] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        # "localhost" resolves to 127.0.0.1 for Chromium too; bind there whatever the name.
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return OtherSite(host=host, port=server.server_address[1], pages=pages)

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
