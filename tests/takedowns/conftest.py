"""Takedown fixtures: a real SMTP server and webhook receiver on 127.0.0.1, an account with
stored evidence (and a cell reference photo it matched), and committed databases (SQLite file,
PostgreSQL) for tests that race real connections."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrations
from app.accounts.models import Account
from app.audit.service import Actor
from app.auth.models import User
from app.auth.permissions import permissions_for
from app.db import make_engine, make_session_factory
from app.estate.models import Cell, Establishment
from app.evidence.images import ingest_image
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.models import Match
from app.settings import Settings
from app.takedowns.models import PlatformSettings
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from app.takedowns.service import Doer
from tests.conftest import TEST_ACTOR
from tests.evidence import samples
from tests.support.postgres import create_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a real SMTP server --------------------------------------------------------------------

class Mailbox:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> list[tuple[str, list[str], bytes]]:
    smtp_server.messages.clear()
    return smtp_server.messages


# --- a real webhook receiver: /ok* answers 200, /fail* answers 500 -------------------------

class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.received.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
            self.server.keys.append(self.headers.get("Idempotency-Key"))  # type: ignore[attr-defined]
        self.send_response(500 if self.path.startswith("/fail") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Webhook:
    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # each POST's Idempotency-Key


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[Webhook]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.keys = [], []  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Webhook(f"http://127.0.0.1:{server.server_address[1]}", server.received,  # type: ignore[attr-defined]
                  server.keys)  # type: ignore[attr-defined]
    server.shutdown()


@pytest.fixture
def webhook(webhook_server: Webhook) -> Webhook:
    webhook_server.received.clear()
    webhook_server.keys.clear()
    return webhook_server


OUTBOUND = "127.0.0.1, .example, .test"  # the loopback listeners and reserved test domains


def make_settings(data_dir: Path, url: str, smtp: Mailbox) -> Settings:
    return Settings(data_dir=data_dir, database_url=url, smtp_host="127.0.0.1",
                    smtp_port=smtp.port, smtp_starttls=False, smtp_from="unit@cellwatch.test",
                    delivery_timeout_seconds=5, outbound_destinations=OUTBOUND,
                    audit_link_seconds=0)  # no linker thread on the test's shared connection


@pytest.fixture
def settings(tmp_path: Path, db_url: str, smtp_server: Mailbox) -> Settings:
    return make_settings(tmp_path / "data", db_url, smtp_server)


# --- people and an account with evidence ---------------------------------------------------

def doer(user: User) -> Doer:
    return Doer(Actor(user_id=user.id, name=user.username, client_addr="127.0.0.1"),
                permissions_for(user.role))


def add_user(session: Session, role: str, name: str | None = None) -> User:
    user = User(username=name or f"{role}-{uuid.uuid4().hex[:8]}", role=role,
                password_hash="!", must_change_password=False)
    session.add(user)
    session.flush()
    return user


def set_platform(session: Session, channel: str, address: str, platform: str = "instagram",
                 renotice_hours: int = 24, target_hours: int = 24) -> None:
    session.merge(PlatformSettings(platform=platform, channel=channel, address=address,
                                   renotice_hours=renotice_hours, target_hours=target_hours,
                                   template=DEFAULT_TEMPLATE))
    session.flush()


@dataclass
class World:
    analyst: User
    sup1: User
    sup2: User
    account: Account
    evidence: list[EvidenceImage]
    images: list[Image]
    reference: Image  # a cell photo one evidence image matched: never in a pack


def build_world(session: Session, settings: Settings, make_user: Any = None) -> World:
    mk = make_user or (lambda role: add_user(session, role))
    analyst, sup1, sup2 = mk("analyst"), mk("supervisor"), mk("supervisor")
    account = Account(platform="instagram", handle="wing_a_boss")
    session.add(account)
    session.flush()
    evidence, images = [], []
    for n in (1, 2):
        data = (samples.jpeg_with_exif(seed=41, size=(640, 480)) if n == 1
                else samples.jpeg(seed=42))  # the first has a capture time in its EXIF
        image, _ = ingest_image(session, settings, TEST_ACTOR, data=data,
                                filename=f"post{n}.jpg")
        ev = EvidenceImage(image_id=image.id, account_id=account.id,
                           post_url=f"https://www.instagram.com/p/Post{n}/",
                           posted_at=datetime(2026, 11, 1, 20 + n, tzinfo=UTC))
        session.add(ev)
        session.flush()
        evidence.append(ev)
        images.append(image)
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    cell = Cell(establishment_id=est.id, label="A-1-014", wing="A", landing="1")
    session.add(cell)
    session.flush()
    reference, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.jpeg(seed=77),
                                filename="cell.jpg")
    session.add(ReferencePhoto(image_id=reference.id, cell_id=cell.id))
    session.add(Match(query_image_id=images[0].id, candidate_image_id=reference.id,
                      method="phash", distance=4, status="confirmed"))
    account.establishment_id = est.id
    session.add(account)
    session.commit()
    return World(analyst, sup1, sup2, account, evidence, images, reference)


@pytest.fixture
def world(session: Session, settings: Settings, make_user: Any) -> World:
    return build_world(session, settings, make_user)


# --- committed databases for real races ----------------------------------------------------

@dataclass
class Live:
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings
    dialect: str


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tdtmpl") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    migrations.upgrade(create_database(pg_server, "td_template"))
    return "td_template"


def _pg_admin(server: str, sql: str) -> None:
    import psycopg

    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path: Path, smtp_server: Mailbox) -> Iterator[Live]:
    """A fresh committed database: a copy of a migrated SQLite file, or a PostgreSQL clone."""
    if request.param == "sqlite":
        path = tmp_path / "live.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url, server, name = f"sqlite:///{path}", "", ""
    else:
        server = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        name = f"td_{uuid.uuid4().hex[:12]}"
        _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = f"{server}/{name}"
    engine = make_engine(url)
    yield Live(engine, make_session_factory(engine),
               make_settings(tmp_path / "live-data", url, smtp_server), request.param)
    engine.dispose()
    if name:
        _pg_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


@dataclass
class People:
    analyst: User
    analyst2: User
    sup1: User
    sup2: User
    account: Account


def seed_people(live: Live, accounts: int = 1) -> People:
    """Committed users and accounts (no images) in a live database."""
    with live.factory() as session:
        users = [add_user(session, role, name) for role, name in (
            ("analyst", "ana"), ("analyst", "bob"), ("supervisor", "sue"), ("supervisor", "sam"))]
        first = None
        for n in range(accounts):
            account = Account(platform="instagram", handle=f"acct_{n}")
            session.add(account)
            session.flush()
            first = first or account
        session.commit()
        assert first is not None
        return People(*users, first)
