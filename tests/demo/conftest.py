"""A demo estate built once for the package, on a SQLite database of its own (the build commits
its one transaction, so it cannot share the rolled-back test database), and clients signed in
as its users the way a newcomer does: one-time password, then a new one."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from app import migrations
from app.db import make_engine
from app.demo.build import build_demo
from app.main import create_app
from app.settings import Settings
from tests.conftest import csrf_from, login_csrf

NEW_PASSWORD = "a brand new demo password"
SMALL = 4  # cells per landing: 144 cells instead of 612, the same stories


def fresh_database(folder, **settings) -> Settings:
    url = f"sqlite:///{folder / 'cellwatch.db'}"
    migrations.upgrade(url)
    return Settings(data_dir=folder, database_url=url, audit_link_seconds=0, match_workers=0,
                    **settings)


@pytest.fixture(scope="package")
def demo(tmp_path_factory):
    settings = fresh_database(tmp_path_factory.mktemp("demo"))
    engine = make_engine(settings.effective_database_url)
    said: list[str] = []
    # one process: the default build (tests/demo/test_demo_cli.py) runs the two-process pool
    built = build_demo(engine, settings, seed=3, today=date.today(), cells_per_landing=SMALL,
                       workers=1, say=said.append)
    yield settings, engine, built, said
    engine.dispose()


def sign_in(client: TestClient, username: str, password: str) -> TestClient:
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.headers["location"] == "/account/password", r.text
    token = csrf_from(client.get("/account/password").text)
    r = client.post("/account/password", data={"current": password, "new": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture(scope="package")
def analyst(demo):
    settings, _, built, _ = demo
    user = next(u for u in built.users if u.role == "analyst")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield sign_in(client, user.username, user.password)
