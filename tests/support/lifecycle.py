"""Whole databases for lifecycle tests (rotation, backup, restore): each its own data folder
and database (a SQLite file, or a PostgreSQL database with owner and app roles), committed for
real, as the commands see them."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrations
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence import images
from app.evidence.models import Image
from app.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.evidence.samples import jpeg
from tests.support.postgres import APP_ROLE, OWNER_ROLE

KEY_1 = base64.b64encode(b"1" * 32).decode()
KEY_2 = base64.b64encode(b"2" * 32).decode()


def empty_postgres(server_url: str) -> tuple[str, str]:
    """A new, empty database owned by the owner role -> (owner URL, app URL)."""
    import psycopg

    name = f"cw_{uuid.uuid4().hex[:10]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() \
                    is None:
                conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    return tuple(server_url.replace("://postgres@", f"://{role}@", 1) + f"/{name}"
                 for role in (OWNER_ROLE, APP_ROLE))  # type: ignore[return-value]


def fresh_settings(kind: str, folder: Path, request: pytest.FixtureRequest, *,
                   migrate: bool = True, **overrides: object) -> Settings:
    """Settings for a new machine: `folder` as its data folder, an empty database (migrated,
    with the app's role granted on PostgreSQL, unless `migrate=False`)."""
    values: dict[str, object] = {"data_dir": folder, "audit_link_seconds": 0,
                                 "match_workers": 0, **overrides}
    if kind == "postgres":
        owner, app = empty_postgres(request.getfixturevalue("pg_server"))
        values.update(database_url=app, migrate_database_url=owner)
    settings = Settings(**values)  # type: ignore[arg-type]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if migrate:
        migrations.upgrade(settings.effective_migrate_url)
        if kind == "postgres":
            grant(settings)
    return settings


def grant(settings: Settings) -> None:
    from app.db_roles import grant_app_role

    engine = make_engine(settings.effective_migrate_url)
    with engine.begin() as conn:
        grant_app_role(conn, APP_ROLE)
    engine.dispose()


def factory_for(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.effective_database_url))


def ingest(factory: sessionmaker[Session], settings: Settings, seed: int,
           size: tuple[int, int] = (160, 120)) -> tuple[int, bytes]:
    """One image stored and committed -> (its id, the original bytes)."""
    data = jpeg(seed, size)
    with unit_of_work(factory) as session:
        image, created = images.ingest_image(session, settings, TEST_ACTOR, data=data,
                                             filename=f"photo-{seed}.jpg")
        assert created
        return image.id or 0, data


def read_original(factory: sessionmaker[Session], settings: Settings, image_id: int) -> bytes:
    with factory() as session:
        image = session.get(Image, image_id)
        assert image is not None
        return images.read_original(settings, image)
