"""Forwarded client addresses are believed only from the proxies named in settings (they go
into the audit log and the sign-in throttles); HSTS in production."""

import base64

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.main import create_app
from app.settings import Settings
from tests.conftest import login_csrf

PROXY = "10.0.0.5"


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, trusted_proxies=[PROXY])


def _failed_sign_in_from(app, client_host, forwarded, session):
    with TestClient(app, client=(client_host, 1234)) as client:
        client.post("/login", headers={"X-Forwarded-For": forwarded},
                    data={"username": "nobody-at-all", "password": "wrong-password-x",
                          "csrf_token": login_csrf(client)})
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login")
                        .order_by(col(AuditEvent.id).desc())).first()


def test_forwarded_address_is_believed_from_a_named_proxy(app, session):
    event = _failed_sign_in_from(app, PROXY, "198.51.100.4", session)
    assert event.client_addr == "198.51.100.4"


@pytest.mark.parametrize("client_host", ["127.0.0.1", "203.0.113.5"])
def test_forwarded_address_is_ignored_from_anyone_else(app, session, client_host):
    event = _failed_sign_in_from(app, client_host, "198.51.100.4", session)
    assert event.client_addr == client_host


def test_hsts_in_production_only(tmp_path, sqlite_url):
    key = base64.b64encode(b"m" * 32).decode()
    audit = base64.b64encode(b"a" * 32).decode()
    production = create_app(Settings(
        environment="production", data_dir=tmp_path / "p", database_url=sqlite_url,
        api_docs=False, master_key=key, audit_key=audit))
    development = create_app(Settings(data_dir=tmp_path / "d", database_url=sqlite_url))
    hsts = TestClient(production).get("/healthz").headers.get("Strict-Transport-Security")
    assert hsts == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in TestClient(development).get("/healthz").headers
