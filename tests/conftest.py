"""Test fixtures: the schema is built by running the migrations; each test is rolled back.

Session-scoped fixtures are per pytest-xdist worker (each worker is its own process): every
worker migrates its own SQLite file and, when a test needs them, starts its own PostgreSQL
cluster and Chromium.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine
from sqlmodel import Session, select

from app import migrations
from app.audit.service import Actor
from app.auth import passwords, sessions
from app.auth.models import User, UserSession
from app.auth.passwords import hash_password
from app.db import make_engine
from app.settings import Settings
from tests.support.apps import app_for_test, release
from tests.support.factors import enrol, totp_code
from tests.support.postgres import temporary_cluster, two_role_database

# CI runs every property and fuzz test on the same cases each time (derandomised, no example
# database): a failure there is reproducible, never a one-off.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    hypothesis_settings.load_profile("ci")

PASSWORD = "correct horse battery"
# the key the test settings (and the migrations the tests run) use for the audit chain
AUDIT_KEY = Settings().audit_key_bytes
TEST_ACTOR = Actor(user_id=None, name="test", client_addr="127.0.0.1", request_id="t")
# argon2id still, at the smallest cost it allows: a user or a sign-in costs microseconds
# instead of a third of a second. Production keeps its own: tests/test_password_cost.py.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    previous = passwords.use_hasher(CHEAP_HASHER)
    yield
    passwords.use_hasher(previous)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with temporary_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_urls(pg_server: str) -> tuple[str, str]:
    """(owner, app): migrated as the tables' owner; the tests connect as the app's role,
    which may only INSERT and SELECT audit_event, as in production."""
    return two_role_database(pg_server, "cellwatch_test")


@pytest.fixture(scope="session")
def postgres_url(postgres_urls: tuple[str, str]) -> str:
    return postgres_urls[1]


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """SQLite by default; parametrize indirectly with "postgres" to run on both."""
    name = "postgres_url" if request.param == "postgres" else "sqlite_url"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def _engines() -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for eng in engines.values():
        eng.dispose()


@pytest.fixture
def engine(db_url: str, _engines: dict[str, Engine]) -> Engine:
    """One engine per database for the worker: its pool keeps the connection open from test
    to test (each test's transaction is rolled back; SET LOCAL ends with it)."""
    if db_url not in _engines:
        _engines[db_url] = make_engine(db_url)
    return _engines[db_url]


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    if engine.dialect.name == "sqlite":
        # pysqlite opens no transaction until the first write, so a SAVEPOINT would start
        # (and its RELEASE commit) the real one: open it by hand so rollback undoes all.
        conn.exec_driver_sql("BEGIN")
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as sess:
        yield sess


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # audit_link_seconds=0: no linker thread on the test's shared connection; tests link by hand
    # match_workers=0: the second matching stage runs after each answer, in the test's app
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, outbound_destinations="127.0.0.1, .example, .test",
                    gc_freeze_at_start=False, sqlite_statistics_seconds=0)


@pytest.fixture
def app(settings: Settings, connection: Connection) -> Iterator[FastAPI]:
    """The worker's app for these settings (tests/support/apps.py), with this test's state."""
    def factory() -> Session:  # every request joins the test's transaction
        return Session(bind=connection, join_transaction_mode="create_savepoint",
                       expire_on_commit=False)

    application = app_for_test(settings, factory)
    yield application
    release(application)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_user(session: Session, settings: Settings):  # noqa: ANN201
    """A user with the test password and, unless `factor=False`, an authenticator."""
    def _make(role: str = "analyst", username: str | None = None,
              must_change_password: bool = False, factor: bool = True) -> User:
        user = User(username=username or f"{role}-{uuid.uuid4().hex[:8]}", role=role,
                    password_hash=hash_password(PASSWORD),
                    must_change_password=must_change_password)
        session.add(user)
        session.flush()
        if factor:
            enrol(session, settings, user)
        session.commit()
        return user
    return _make


_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


_LOGIN_CSRF_RE = re.compile(r'value="([^"]+)" id="login-csrf"')


def login_csrf(client: TestClient) -> str:
    match = _LOGIN_CSRF_RE.search(client.get("/login").text)
    assert match, "login page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Sign in as a person would: the password, then (if the user has an authenticator) the
    code it shows."""
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": login_csrf(client)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/code"):
        answer_code(client, response.headers["location"])
    return client


def answer_code(client: TestClient, page: str = "/login/code") -> None:
    """Give the second factor on the code page (after the password, or for a step-up)."""
    form = client.get(page)
    assert form.status_code == 200, form.text
    username = _signed_in_username(client)
    code = totp_code(client.app.state.session_factory, client.app.state.settings, username)
    next_ = re.search(r'name="next" value="([^"]*)"', form.text)
    answered = client.post("/login/code", data={"code": code, "csrf_token": csrf_from(form.text),
                                                "next": next_.group(1) if next_ else "/"},
                           follow_redirects=False)
    assert answered.status_code == 303, answered.text


def _signed_in_username(client: TestClient) -> str:
    token = client.cookies.get("cw_session")
    assert token, "not signed in"
    with client.app.state.session_factory() as db:
        row = db.exec(select(UserSession).where(
            UserSession.token_hash == sessions.token_hash(token))).one()
        return db.get(User, row.user_id).username


@pytest.fixture
def as_role(client: TestClient, make_user):  # noqa: ANN201
    """Sign the test client in as a new user of the given role; returns (client, user)."""
    def _as(role: str) -> tuple[TestClient, User]:
        user = make_user(role)
        login(client, user.username)
        return client, user
    return _as


def page_csrf(client: TestClient, path: str = "/account/password") -> str:
    return csrf_from(client.get(path).text)
